package browsertest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// axePath is axe-core's bundle, installed by npm from web/package.json
// (a pinned devDependency), relative to the module root.
var axePath = filepath.Join("web", "node_modules", "axe-core", "axe.min.js")

// ModuleRoot is the directory of go.mod above the working directory
// (a test runs in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

var axeOnce = sync.OnceValues(func() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, axePath))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s is missing: run make web (npm ci in web/) first", axePath)
	}
	return string(b), err
})

// AxeSource returns the pinned axe-core bundle.
func AxeSource() (string, error) { return axeOnce() }

// Violation is one rule axe-core found broken on a page.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"` // minor, moderate, serious or critical
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors of the first offending elements
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s: %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
}

// Serious reports whether v is serious or critical: what fails a test.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

const axeRun = `(async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return r.violations.map((v) => ({
    id: v.id, impact: v.impact || "", help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
})()`

// Axe injects axe-core into the page (once per document; the debugger's
// scripts are not subject to the page's CSP) and returns every violation
// it finds in the document as it is now.
func (p *Page) Axe() ([]Violation, error) {
	src, err := AxeSource()
	if err != nil {
		return nil, err
	}
	loaded, err := Evaluate[bool](p, `typeof window.axe === "object"`)
	if err != nil {
		return nil, fmt.Errorf("axe: %w", err)
	}
	if !loaded {
		if _, err := Evaluate[[]byte](p, src+"\n;true"); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	vs, err := Evaluate[[]Violation](p, axeRun)
	if err != nil {
		return nil, fmt.Errorf("axe.run: %w", err)
	}
	return vs, nil
}

// SeriousViolations runs axe and returns its serious and critical
// violations, one line each.
func (p *Page) SeriousViolations() ([]string, error) {
	vs, err := p.Axe()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range vs {
		if v.Serious() {
			out = append(out, v.String())
		}
	}
	return out, nil
}
