package sfn

import (
	"errors"
	"strings"
	"testing"
)

func TestPathLookup(t *testing.T) {
	input := `{"a":{"b":[10,{"c":"deep"}]},"x y":1,"it's":2,"list":[{"n":1,"t":"a"},{"n":5,"t":"b"},{"n":9,"t":"a"}],"z":null}`
	data, err := decodeJSON([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	ctxObj := map[string]any{"State": map[string]any{"Name": "S"}}
	cases := []struct {
		path, want string
	}{
		{`$`, input},
		{`$.a.b[0]`, `10`},
		{`$.a.b[1].c`, `"deep"`},
		{`$['x y']`, `1`},
		{`$["it's"]`, `2`},
		{`$.a['b'][-1]['c']`, `"deep"`},
		{`$.z`, `null`},
		{`$$.State.Name`, `"S"`},
		{`$.list[*].n`, `[1,5,9]`},
		{`$.list[0,2].n`, `[1,9]`},
		{`$.list[1:].t`, `["b","a"]`},
		{`$.list[::-1].n`, `[9,5,1]`},
		{`$..c`, `["deep"]`},
		{`$.list[?(@.t == 'a')].n`, `[1,9]`},
		{`$.list[?(@.n >= 5 && @.t != "a")].n`, `[5]`},
		{`$.list[?(@.n < 2 || @.n > 8)].n`, `[1,9]`},
		{`$.list[?(!(@.n == 5))].n`, `[1,9]`},
		{`$.list[?(@.missing)]`, `[]`},
		{`$.list[?(@.n == $.a.b[0])]`, `[]`},
		{`$['a','x y']`, `[{"b":[10,{"c":"deep"}]},1]`},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			p, err := parsePath(tc.path)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := p.lookup(data, ctxObj)
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if !sameJSON(t, encodeJSON(got), tc.want) {
				t.Errorf("got %s, want %s", encodeJSON(got), tc.want)
			}
		})
	}
}

func TestPathNotFound(t *testing.T) {
	data := map[string]any{"a": []any{1}}
	for _, s := range []string{`$.b`, `$.a[1]`, `$.a.b`, `$.a[0].c`} {
		p, err := parsePath(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.lookup(data, nil); !errors.Is(err, errPathNotFound) {
			t.Errorf("%s: err = %v, want errPathNotFound", s, err)
		}
	}
}

func TestPathParseErrors(t *testing.T) {
	cases := []struct{ path, want string }{
		{`a.b`, `must start with '$'`},
		{`$.`, `empty name`},
		{`$[`, `unclosed '['`},
		{`$['a`, `unterminated string`},
		{`$[x]`, `invalid index`},
		{`$[1:2:0]`, `step cannot be zero`},
		{`$[?(@.a ==)]`, `missing operand`},
		{`$a`, `unexpected`},
	}
	for _, tc := range cases {
		if _, err := parsePath(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parsePath(%q) err = %v, want it to contain %q", tc.path, err, tc.want)
		}
	}
	if _, err := parseReferencePath(`$.a[*]`); err == nil || !strings.Contains(err.Error(), "only names and indexes") {
		t.Errorf("parseReferencePath($.a[*]) err = %v", err)
	}
}

func TestPathSetCopiesOnWrite(t *testing.T) {
	in := map[string]any{"a": map[string]any{"keep": true}, "arr": []any{1, 2}}
	p, _ := parseReferencePath(`$.a.b.c`)
	out, err := p.set(in, "v")
	if err != nil {
		t.Fatal(err)
	}
	if got := encodeJSON(out); got != `{"a":{"b":{"c":"v"},"keep":true},"arr":[1,2]}` {
		t.Errorf("set = %s", got)
	}
	if got := encodeJSON(in); got != `{"a":{"keep":true},"arr":[1,2]}` {
		t.Errorf("the input was modified: %s", got)
	}
	p, _ = parseReferencePath(`$.arr[5]`)
	if _, err := p.set(in, 1); err == nil {
		t.Error("setting an index past the end succeeded")
	}
	p, _ = parseReferencePath(`$.a.keep.x`)
	if _, err := p.set(in, 1); err == nil || !strings.Contains(err.Error(), "cannot set field") {
		t.Errorf("setting a field of a boolean: err = %v", err)
	}
}
