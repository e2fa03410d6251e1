package workflow

import (
	"testing"

	"github.com/tre-egress/egress/shared/egress"
)

// TestLink: e-mails link to <web app URL>/#<id>, the fragment the frontend
// opens, escaped so decodeURIComponent gives the id back.
func TestLink(t *testing.T) {
	tests := []struct{ base, id, want string }{
		{"https://egress.example.org", "0f8e7d6c-1234", "https://egress.example.org/#0f8e7d6c-1234"},
		{"https://egress.example.org/", "0f8e7d6c-1234", "https://egress.example.org/#0f8e7d6c-1234"},
		{"https://egress.example.org/app", "a b+c#d", "https://egress.example.org/app/#a%20b+c%23d"},
		{"", "x", "https://localhost/#x"},
	}
	for _, tt := range tests {
		h := &Handlers{Settings: Settings{WebAppURL: tt.base}}
		if got := h.link(egress.Request{ID: tt.id}); got != tt.want {
			t.Errorf("link(%q, %q) = %q, want %q", tt.base, tt.id, got, tt.want)
		}
	}
}
