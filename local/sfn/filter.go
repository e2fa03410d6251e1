package sfn

import (
	"encoding/json"
	"fmt"
	"strings"
)

// filterExpr is a compiled JSONPath filter, the expr in [?(expr)]. It
// supports what workflow definitions use in practice: comparisons (== != <
// <= > >=) between @-relative paths, $-rooted paths and literals, existence
// tests ([?(@.x)]), negation, parentheses, && and ||.
type filterExpr interface {
	match(node, root any) bool
}

type filterParser struct {
	s   string
	pos int
}

func parseFilter(s string) (filterExpr, error) {
	p := &filterParser{s: s}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("unexpected %q in filter %q", p.s[p.pos:], s)
	}
	return e, nil
}

func (p *filterParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *filterParser) consume(tok string) bool {
	p.skipSpace()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

type orExpr struct{ l, r filterExpr }
type andExpr struct{ l, r filterExpr }
type notExpr struct{ e filterExpr }

func (e orExpr) match(n, root any) bool  { return e.l.match(n, root) || e.r.match(n, root) }
func (e andExpr) match(n, root any) bool { return e.l.match(n, root) && e.r.match(n, root) }
func (e notExpr) match(n, root any) bool { return !e.e.match(n, root) }

func (p *filterParser) or() (filterExpr, error) {
	l, err := p.and()
	for err == nil && p.consume("||") {
		var r filterExpr
		if r, err = p.and(); err == nil {
			l = orExpr{l, r}
		}
	}
	return l, err
}

func (p *filterParser) and() (filterExpr, error) {
	l, err := p.unary()
	for err == nil && p.consume("&&") {
		var r filterExpr
		if r, err = p.unary(); err == nil {
			l = andExpr{l, r}
		}
	}
	return l, err
}

func (p *filterParser) unary() (filterExpr, error) {
	if p.consume("!") {
		e, err := p.unary()
		return notExpr{e}, err
	}
	if p.consume("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.consume(")") {
			return nil, fmt.Errorf("missing ')' in filter %q", p.s)
		}
		return e, nil
	}
	return p.comparison()
}

var filterOps = []string{"==", "!=", "<=", ">=", "<", ">"}

type comparison struct {
	l, r operand
	op   string // "" tests that l exists
}

func (p *filterParser) comparison() (filterExpr, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	for _, op := range filterOps {
		if p.consume(op) {
			r, err := p.operand()
			if err != nil {
				return nil, err
			}
			return comparison{l: l, r: r, op: op}, nil
		}
	}
	return comparison{l: l}, nil
}

// operand is a literal or a path; relative paths start at the filtered node.
type operand struct {
	lit      any
	path     *path
	relative bool
}

func (o operand) value(node, root any) (any, bool) {
	if o.path == nil {
		return o.lit, true
	}
	start := root
	if o.relative {
		start = node
	}
	got := o.path.eval(start)
	if len(got) == 0 {
		return nil, false
	}
	return got[0], true
}

func (p *filterParser) operand() (operand, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return operand{}, fmt.Errorf("missing operand in filter %q", p.s)
	}
	switch c := p.s[p.pos]; {
	case c == '@' || c == '$':
		end := p.pos + 1
		for end < len(p.s) && !strings.ContainsRune(" \t)=!<>&|", rune(p.s[end])) {
			if p.s[end] == '[' {
				e, err := bracketEnd(p.s, end)
				if err != nil {
					return operand{}, err
				}
				end = e
			}
			end++
		}
		expr := "$" + p.s[p.pos+1:end]
		p.pos = end
		pp, err := parsePath(expr)
		if err != nil {
			return operand{}, err
		}
		return operand{path: pp, relative: c == '@'}, nil
	case c == '\'' || c == '"':
		end, err := quoteEnd(p.s, p.pos)
		if err != nil {
			return operand{}, err
		}
		lit := unquote(p.s[p.pos : end+1])
		p.pos = end + 1
		return operand{lit: lit}, nil
	default:
		end := p.pos
		for end < len(p.s) && !strings.ContainsRune(" \t)=!<>&|", rune(p.s[end])) {
			end++
		}
		word := p.s[p.pos:end]
		p.pos = end
		v, err := decodeJSON([]byte(word))
		if err != nil {
			return operand{}, fmt.Errorf("invalid literal %q in filter", word)
		}
		if _, isNum := v.(json.Number); !isNum && v != nil && v != true && v != false {
			return operand{}, fmt.Errorf("invalid literal %q in filter", word)
		}
		return operand{lit: v}, nil
	}
}

func (c comparison) match(node, root any) bool {
	l, ok := c.l.value(node, root)
	if c.op == "" {
		return ok
	}
	r, rok := c.r.value(node, root)
	if !ok || !rok {
		return c.op == "!=" && ok != rok
	}
	switch c.op {
	case "==":
		return jsonEqual(l, r)
	case "!=":
		return !jsonEqual(l, r)
	}
	cmp, ok := compareOrdered(l, r)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	default:
		return cmp >= 0
	}
}

// compareOrdered compares two numbers or two strings.
func compareOrdered(a, b any) (int, bool) {
	if x, ok := number(a); ok {
		y, ok := number(b)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(x, y), true
}
