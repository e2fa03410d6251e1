package sfn

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// path is a compiled JSONPath expression.
//
// The States Language distinguishes Paths (any JSONPath, as used after a
// ".$" key or in InputPath) from Reference Paths (only names and indexes,
// addressing a single node, as ResultPath and Choice's Variable need). Both
// compile to a path; isReference tells them apart. The syntax follows the
// Jayway implementation AWS uses: dot and bracket child names, indexes
// (negative counts from the end), unions, wildcards, slices, recursive
// descent (..) and filters [?(@.x < 3 && @.y)].
type path struct {
	raw     string
	context bool // "$$…": addresses the context object, not the state's data
	segs    []segment
}

type segKind int

const (
	segNames    segKind = iota // .name, ['name'], ['a','b']
	segIndexes                 // [0], [0,2], [-1]
	segWildcard                // .*, [*]
	segSlice                   // [start:end:step]
	segFilter                  // [?(expr)]
)

type segment struct {
	kind    segKind
	descend bool // preceded by "..": applies to the node and all its descendants
	names   []string
	indexes []int
	slice   [3]*int
	filter  filterExpr
}

// errPathNotFound reports that a definite path matched nothing.
var errPathNotFound = errors.New("no results for path")

// parsePath compiles a JSONPath that starts with "$" (or "$$").
func parsePath(s string) (*path, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("invalid JSONPath %q: must start with '$'", s)
	}
	p := &path{raw: s}
	rest := s[1:]
	if strings.HasPrefix(rest, "$") {
		p.context, rest = true, rest[1:]
	}
	segs, err := parseSegments(rest)
	if err != nil {
		return nil, fmt.Errorf("invalid JSONPath %q: %w", s, err)
	}
	p.segs = segs
	return p, nil
}

// parseReferencePath compiles a path that must address a single node.
func parseReferencePath(s string) (*path, error) {
	p, err := parsePath(s)
	if err != nil {
		return nil, err
	}
	if !p.isReference() {
		return nil, fmt.Errorf("invalid reference path %q: only names and indexes are allowed", s)
	}
	return p, nil
}

func parseSegments(s string) ([]segment, error) {
	var segs []segment
	for i := 0; i < len(s); {
		var seg segment
		switch {
		case strings.HasPrefix(s[i:], ".."):
			seg.descend = true
			i += 2
			if i < len(s) && s[i] == '[' {
				break // the bracket below supplies the selector
			}
			n := nameEnd(s, i)
			if n == i {
				return nil, errors.New("'..' must be followed by a name, '*' or '['")
			}
			seg.setName(s[i:n])
			i = n
			segs = append(segs, seg)
			continue
		case s[i] == '.':
			i++
			n := nameEnd(s, i)
			if n == i {
				return nil, fmt.Errorf("empty name at offset %d", i)
			}
			seg.setName(s[i:n])
			i = n
			segs = append(segs, seg)
			continue
		case s[i] != '[':
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
		end, err := bracketEnd(s, i)
		if err != nil {
			return nil, err
		}
		if err := seg.parseBracket(strings.TrimSpace(s[i+1 : end])); err != nil {
			return nil, err
		}
		segs = append(segs, seg)
		i = end + 1
	}
	return segs, nil
}

func nameEnd(s string, i int) int {
	for i < len(s) && s[i] != '.' && s[i] != '[' {
		i++
	}
	return i
}

func (seg *segment) setName(name string) {
	if name == "*" {
		seg.kind = segWildcard
		return
	}
	seg.kind, seg.names = segNames, []string{name}
}

// bracketEnd returns the index of the ']' closing the '[' at s[i], skipping
// quoted strings and nested brackets (filters may contain both).
func bracketEnd(s string, i int) (int, error) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; c {
		case '\'', '"':
			k, err := quoteEnd(s, j)
			if err != nil {
				return 0, err
			}
			j = k
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed '[' at offset %d", i)
}

// quoteEnd returns the index of the quote closing the one at s[i].
func quoteEnd(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", i)
}

func unquote(s string) string {
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (seg *segment) parseBracket(in string) error {
	switch {
	case in == "*":
		seg.kind = segWildcard
		return nil
	case strings.HasPrefix(in, "?"):
		body := strings.TrimSpace(in[1:])
		if !strings.HasPrefix(body, "(") || !strings.HasSuffix(body, ")") {
			return fmt.Errorf("filter %q must have the form ?(expression)", in)
		}
		f, err := parseFilter(body[1 : len(body)-1])
		if err != nil {
			return err
		}
		seg.kind, seg.filter = segFilter, f
		return nil
	case strings.HasPrefix(in, "'") || strings.HasPrefix(in, `"`):
		seg.kind = segNames
		for rest := in; ; {
			end, err := quoteEnd(rest, 0)
			if err != nil {
				return err
			}
			seg.names = append(seg.names, unquote(rest[:end+1]))
			rest = strings.TrimSpace(rest[end+1:])
			if rest == "" {
				return nil
			}
			if rest[0] != ',' {
				return fmt.Errorf("expected ',' between names in [%s]", in)
			}
			rest = strings.TrimSpace(rest[1:])
			if rest == "" || (rest[0] != '\'' && rest[0] != '"') {
				return fmt.Errorf("expected a quoted name in [%s]", in)
			}
		}
	case strings.Contains(in, ":"):
		parts := strings.Split(in, ":")
		if len(parts) > 3 {
			return fmt.Errorf("invalid slice [%s]", in)
		}
		seg.kind = segSlice
		for k, part := range parts {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil {
				return fmt.Errorf("invalid slice [%s]", in)
			}
			seg.slice[k] = &n
		}
		if seg.slice[2] != nil && *seg.slice[2] == 0 {
			return fmt.Errorf("slice step cannot be zero in [%s]", in)
		}
		return nil
	default:
		seg.kind = segIndexes
		for part := range strings.SplitSeq(in, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return fmt.Errorf("invalid index [%s]", in)
			}
			seg.indexes = append(seg.indexes, n)
		}
		return nil
	}
}

// isReference reports whether every segment selects exactly one name or index.
func (p *path) isReference() bool {
	for _, s := range p.segs {
		if s.descend || (s.kind != segNames && s.kind != segIndexes) || len(s.names)+len(s.indexes) != 1 {
			return false
		}
	}
	return true
}

// definite reports whether the path yields a single value rather than a list.
func (p *path) definite() bool { return p.isReference() }

func (p *path) String() string { return p.raw }

// canonical renders the path in Jayway's normalised bracket form, which AWS
// quotes in its error causes ("No results for path: $['a'][0]").
func (p *path) canonical() string {
	var b strings.Builder
	b.WriteString("$")
	if p.context {
		b.WriteString("$")
	}
	for _, s := range p.segs {
		if s.descend {
			b.WriteString("..")
		}
		switch s.kind {
		case segNames:
			quoted := make([]string, len(s.names))
			for i, n := range s.names {
				// Escaped, so that the form compiles back to the same
				// path (FuzzPath found a name with a quote that did not).
				quoted[i] = "'" + nameEscaper.Replace(n) + "'"
			}
			b.WriteString("[" + strings.Join(quoted, ",") + "]")
		case segIndexes:
			idx := make([]string, len(s.indexes))
			for i, n := range s.indexes {
				idx[i] = strconv.Itoa(n)
			}
			b.WriteString("[" + strings.Join(idx, ",") + "]")
		case segWildcard:
			b.WriteString("[*]")
		default:
			b.WriteString("[…]")
		}
	}
	return b.String()
}

// nameEscaper escapes what unquote unescapes inside a quoted name.
var nameEscaper = strings.NewReplacer(`\`, `\\`, "'", `\'`)

// lookup evaluates the path against the state's data or, for "$$" paths, the
// context object. A definite path returns the single node it addresses or
// errPathNotFound; any other path returns a (possibly empty) array of matches.
func (p *path) lookup(data, contextObj any) (any, error) {
	root := data
	if p.context {
		root = contextObj
	}
	nodes, err := p.evalBounded(root)
	if err != nil {
		return nil, err
	}
	if !p.definite() {
		if nodes == nil {
			nodes = []any{}
		}
		return nodes, nil
	}
	if len(nodes) == 0 {
		return nil, errPathNotFound
	}
	return nodes[0], nil
}

func (p *path) eval(root any) []any {
	nodes, _ := p.evalBounded(root)
	return nodes
}

// maxPathNodes bounds the nodes one evaluation may visit: repeated
// recursive descent ("$..a..a..a") on a deep document otherwise visits
// exponentially many and exhausts memory (found by FuzzPath). State data
// is at most 256 KiB, so no real path comes near it.
const maxPathNodes = 1 << 20

var errPathTooBig = fmt.Errorf("the path visits more than %d nodes", maxPathNodes)

// evalBounded is eval, failing with errPathTooBig beyond maxPathNodes.
func (p *path) evalBounded(root any) ([]any, error) {
	nodes := []any{root}
	visited := 0
	for _, seg := range p.segs {
		var next []any
		for _, n := range nodes {
			if seg.descend {
				ds := descendants(n, nil)
				if visited += len(ds); visited > maxPathNodes {
					return nil, errPathTooBig
				}
				for _, d := range ds {
					next = seg.apply(d, root, next)
				}
			} else {
				next = seg.apply(n, root, next)
			}
			if visited++; len(next) > maxPathNodes || visited > maxPathNodes {
				return nil, errPathTooBig
			}
		}
		nodes = next
	}
	return nodes, nil
}

// descendants returns n and every value nested in it, depth first, with
// object members in key order so results are deterministic.
func descendants(n any, acc []any) []any {
	acc = append(acc, n)
	for _, c := range children(n) {
		acc = descendants(c, acc)
	}
	return acc
}

func children(n any) []any {
	switch v := n.(type) {
	case []any:
		return v
	case map[string]any:
		out := make([]any, 0, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			out = append(out, v[k])
		}
		return out
	}
	return nil
}

func (seg *segment) apply(n, root any, out []any) []any {
	switch seg.kind {
	case segNames:
		if m, ok := n.(map[string]any); ok {
			for _, name := range seg.names {
				if v, ok := m[name]; ok {
					out = append(out, v)
				}
			}
		}
	case segIndexes:
		if a, ok := n.([]any); ok {
			for _, i := range seg.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segWildcard:
		out = append(out, children(n)...)
	case segSlice:
		if a, ok := n.([]any); ok {
			out = append(out, slice(a, seg.slice)...)
		}
	case segFilter:
		for _, c := range children(n) {
			if seg.filter.match(c, root) {
				out = append(out, c)
			}
		}
	}
	return out
}

func slice(a []any, bounds [3]*int) []any {
	n := len(a)
	step := 1
	if bounds[2] != nil {
		step = *bounds[2]
	}
	clamp := func(b *int, def int) int {
		if b == nil {
			return def
		}
		i := *b
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	var out []any
	if step > 0 {
		for i := clamp(bounds[0], 0); i < clamp(bounds[1], n); i += step {
			out = append(out, a[i])
		}
		return out
	}
	start := n - 1
	if bounds[0] != nil {
		start = min(clamp(bounds[0], 0), n-1)
	}
	end := -1
	if bounds[1] != nil {
		end = clamp(bounds[1], 0)
	}
	for i := start; i > end; i += step {
		out = append(out, a[i])
	}
	return out
}

// set returns a copy of doc with val stored at the reference path p,
// creating intermediate objects as needed. doc itself is not modified: only
// the containers along the path are copied.
func (p *path) set(doc, val any) (any, error) {
	return setAt(doc, p.segs, val)
}

func setAt(cur any, segs []segment, val any) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	seg := segs[0]
	if seg.kind == segIndexes {
		a, ok := cur.([]any)
		i := seg.indexes[0]
		if i < 0 {
			i += len(a)
		}
		if !ok || i < 0 || i >= len(a) {
			return nil, fmt.Errorf("index [%d] does not address an element of %s", seg.indexes[0], jsonType(cur))
		}
		child, err := setAt(a[i], segs[1:], val)
		if err != nil {
			return nil, err
		}
		out := slices.Clone(a)
		out[i] = child
		return out, nil
	}
	name := seg.names[0]
	var m map[string]any
	switch v := cur.(type) {
	case map[string]any:
		m = maps.Clone(v)
	case nil:
		m = map[string]any{}
	default:
		return nil, fmt.Errorf("cannot set field %q on a %s", name, jsonType(cur))
	}
	child, err := setAt(m[name], segs[1:], val)
	if err != nil {
		return nil, err
	}
	m[name] = child
	return m, nil
}
