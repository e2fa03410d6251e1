package stack

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// subReference is a ${Name} or ${Name.Attribute} in an Fn::Sub string.
var subReference = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[^}]*)?\}`)

// references collects the logical ids v refers to with Ref, Fn::GetAtt
// and Fn::Sub.
func references(v any, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "Ref":
				if s, ok := e.(string); ok {
					out[s] = true
				}
			case "Fn::GetAtt":
				switch a := e.(type) {
				case []any:
					if s, ok := a[0].(string); ok {
						out[s] = true
					}
				case string:
					out[strings.SplitN(a, ".", 2)[0]] = true
				}
			case "Fn::Sub":
				text := e
				if a, ok := e.([]any); ok && len(a) > 0 {
					text = a[0]
					references(a[1:], out)
				}
				if s, ok := text.(string); ok {
					for _, m := range subReference.FindAllStringSubmatch(s, -1) {
						out[m[1]] = true
					}
				}
				continue
			}
			references(e, out)
		}
	case []any:
		for _, e := range x {
			references(e, out)
		}
	}
}

// CloudFormation refuses a template whose resources depend on each other
// in a circle; synthesis does not notice. The web app's headers name the
// API, and the user pool client and functions name the web app's URL.
func TestNoDependencyCycle(t *testing.T) {
	for name, tmpl := range synth(t).templates {
		res := tmpl["Resources"].(map[string]any)
		deps := map[string][]string{}
		for id, r := range res {
			refs := map[string]bool{}
			references(get(r, "Properties"), refs)
			switch d := get(r, "DependsOn").(type) {
			case string:
				refs[d] = true
			case []any:
				for _, e := range d {
					refs[e.(string)] = true
				}
			}
			for ref := range refs {
				if _, ok := res[ref]; ok && ref != id {
					deps[id] = append(deps[id], ref)
				}
			}
		}
		const (
			unvisited = iota
			visiting
			done
		)
		state := map[string]int{}
		var path []string
		var visit func(id string) bool
		visit = func(id string) bool {
			switch state[id] {
			case visiting:
				t.Errorf("%s: dependency cycle %s → %s", name, strings.Join(path[slices.Index(path, id):], " → "), id)
				return false
			case done:
				return true
			}
			state[id], path = visiting, append(path, id)
			for _, d := range deps[id] {
				if !visit(d) {
					return false
				}
			}
			state[id], path = done, path[:len(path)-1]
			return true
		}
		for id := range res {
			if !visit(id) {
				break
			}
		}
	}
}
