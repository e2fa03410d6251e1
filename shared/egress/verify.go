package egress

import (
	"fmt"
	"strings"
)

// ZipManifest is the content of a release zip's manifest.json.
type ZipManifest struct {
	Files []File `json:"files"`
	// LeftOut lists the submitted files reviewers rejected, with why.
	LeftOut []LeftOut `json:"left_out,omitempty"`
}

// ZipReadEntry is one entry of a released zip as read back.
type ZipReadEntry struct {
	Path   string
	Size   int64
	SHA256 string // lower-case hex; empty when Err
	Err    string // why the entry could not be read whole (a damaged entry)
}

// ZipReadback is a released zip read back: its entries in order (without
// manifest.json and SHA256SUMS), and those two parsed.
type ZipReadback struct {
	VersionID   string
	Size        int64
	Entries     []ZipReadEntry
	HasManifest bool
	Manifest    ZipManifest
	ManifestErr error
	HasSums     bool
	Sums        map[string]string // path → SHA-256
	SumsErr     error
}

// ReleaseProblem is one way a released zip differs from what was released.
type ReleaseProblem struct {
	Path    string
	Problem string
}

// CheckRelease compares a zip read back with its own manifest.json and
// SHA256SUMS and with the staging manifest the reviewers saw, less the
// files they left out, which must be absent. The problems come in the
// zip's order, then the missing files in the staging manifest's.
func CheckRelease(z ZipReadback, staged []File, leftOut []LeftOut) []ReleaseProblem {
	var ps []ReleaseProblem
	add := func(path, format string, a ...any) {
		ps = append(ps, ReleaseProblem{Path: path, Problem: fmt.Sprintf(format, a...)})
	}
	switch {
	case !z.HasManifest:
		add(ZipManifestName, "missing from the zip")
	case z.ManifestErr != nil:
		add(ZipManifestName, "unreadable: %v", z.ManifestErr)
	}
	switch {
	case !z.HasSums:
		add(ZipSumsName, "missing from the zip")
	case z.SumsErr != nil:
		add(ZipSumsName, "unreadable: %v", z.SumsErr)
	}
	inZip := make(map[string]File, len(z.Manifest.Files))
	for _, f := range z.Manifest.Files {
		inZip[f.Path] = f
	}
	want := make(map[string]File, len(staged))
	for _, f := range staged {
		want[f.Path] = f
	}
	out := make(map[string]bool, len(leftOut))
	for _, lo := range leftOut {
		out[lo.Path] = true
	}
	seen := make(map[string]bool, len(z.Entries))
	for _, e := range z.Entries {
		if seen[e.Path] {
			add(e.Path, "appears more than once in the zip")
			continue
		}
		seen[e.Path] = true
		if e.Err != "" {
			add(e.Path, "unreadable: %s", e.Err)
			continue
		}
		if out[e.Path] {
			add(e.Path, "left out by the reviewers but in the zip")
			continue
		}
		st, ok := want[e.Path]
		if !ok {
			add(e.Path, "not in the staging manifest")
			continue
		}
		if st.Size != e.Size {
			add(e.Path, "size differs from the staging manifest (%d bytes, %d staged)", e.Size, st.Size)
		}
		if !strings.EqualFold(st.SHA256, e.SHA256) {
			add(e.Path, "SHA-256 differs from the staging manifest")
		}
		if z.HasManifest && z.ManifestErr == nil {
			if m, ok := inZip[e.Path]; !ok {
				add(e.Path, "not in the zip's %s", ZipManifestName)
			} else if !strings.EqualFold(m.SHA256, e.SHA256) || m.Size != e.Size {
				add(e.Path, "SHA-256 or size differs from the zip's %s", ZipManifestName)
			}
		}
		if z.HasSums && z.SumsErr == nil && !strings.EqualFold(z.Sums[e.Path], e.SHA256) {
			add(e.Path, "SHA-256 differs from the zip's %s", ZipSumsName)
		}
	}
	for _, f := range staged {
		if !out[f.Path] && !seen[f.Path] {
			add(f.Path, "missing from the zip")
		}
	}
	if z.HasManifest && z.ManifestErr == nil {
		for _, f := range z.Manifest.Files {
			if _, staged := want[f.Path]; seen[f.Path] || staged && !out[f.Path] {
				continue // checked, or reported missing above
			}
			add(f.Path, "in the zip's %s but missing from the zip", ZipManifestName)
		}
	}
	return ps
}
