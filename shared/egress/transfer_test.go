package egress_test

import (
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

func TestCheckZipPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"summary.csv", true},
		{"a/b/c d+e%.csv", true},
		{"données/résumé.txt", true},
		{".hidden/x", true},
		{"", false},
		{".", false},
		{"/abs.csv", false},
		{"a/../b", false},
		{"a//b", false},
		{"dir/", false},
		{`a\b.csv`, false},
		{egress.ZipSumsName, false},
		{egress.ZipManifestName, false},
		{"sub/" + egress.ZipManifestName, true},
	}
	for _, tt := range tests {
		err := egress.CheckZipPath(tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("egress.CheckZipPath(%q) = %v, want ok %v", tt.path, err, tt.ok)
		}
		if err != nil && egress.ErrorCode(err) != egress.EINVALID {
			t.Errorf("egress.CheckZipPath(%q) code %s, want EINVALID", tt.path, egress.ErrorCode(err))
		}
	}
}
