package sfn

import (
	"encoding/json"
	"strings"
	"testing"
)

const fuzzDoc = `{"a":{"b":[1,2,{"c":"x"}],"it's":1,"q\"":2,"":3},"n":3,"s":"a,b","arr":[1,"two",null,true,{"k":[1]}],"big":12345678901234567890}`

// FuzzPath: any text either fails to compile or compiles to a path that
// evaluates without panicking on any document; its canonical form (the
// one error causes quote) compiles to an equivalent path; a reference
// path can be set and then read back.
func FuzzPath(f *testing.F) {
	for _, s := range []string{
		"$", "$$", "$.a.b[2].c", "$['a']['b'][-1]", "$.a['it\\'s']", `$.a["q\""]`, "$.a['']", "$..c", "$.arr[*]",
		"$.arr[1:3]", "$.arr[::-1]", "$.arr[0,2,-1]", "$.a[?(@.c == 'x')]", "$..[?(@ > 1 && @ < 3)]",
		"$$.Execution.Name", "$.a.", "$[", "$['a'", "$.arr[1:2:0]", "$..", "$.a[\"x\",'y']", "$.\x00", "$.a\u00e9",
		"$[99999999999999999999]", "$.arr[-9223372036854775808]",
	} {
		f.Add(s, []byte(fuzzDoc))
	}
	f.Fuzz(func(t *testing.T, expr string, doc []byte) {
		p, err := parsePath(expr)
		if err != nil {
			return
		}
		data, err := decodeJSON(doc)
		if err != nil {
			data, _ = decodeJSON([]byte(fuzzDoc))
		}
		ctxObj := map[string]any{"Execution": map[string]any{"Name": "exec"}}
		got, lookupErr := p.lookup(data, ctxObj)
		if lookupErr == nil {
			_ = encodeJSON(got) // panics on a value JSON cannot carry
		}
		if c := p.canonical(); !strings.Contains(c, "…") {
			q, err := parsePath(c)
			if err != nil {
				t.Fatalf("%q compiles, its canonical form %q does not: %v", expr, c, err)
			}
			if q.canonical() != c {
				t.Fatalf("canonical %q of %q is %q when compiled again", c, expr, q.canonical())
			}
			again, err2 := q.lookup(data, ctxObj)
			if (lookupErr == nil) != (err2 == nil) || lookupErr == nil && encodeJSON(got) != encodeJSON(again) {
				t.Fatalf("%q and its canonical %q select differently", expr, c)
			}
		}
		if p.isReference() && !p.context {
			out, err := p.set(data, "fuzz")
			if err != nil {
				return
			}
			v, err := p.lookup(out, ctxObj)
			if err != nil || v != "fuzz" {
				t.Fatalf("set %q then lookup: %v, %v", expr, v, err)
			}
		}
	})
}

// FuzzIntrinsic: any text either fails to compile or compiles to a call
// that evaluates, on any document, to a JSON value or a States.Runtime
// error, without panicking.
func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{
		"States.Format('Hello, {}!', $.s)", "States.Format('{} {}', 1)", `States.Format('it\'s \{\} {}', $$.Execution.Name)`,
		"States.StringToJson($.s)", "States.JsonToString($.a)", "States.Array(1, 'two', $.n, true, null)",
		"States.ArrayPartition($.arr, 2)", "States.ArrayPartition($.arr, 0)", "States.ArrayContains($.arr, 'two')",
		"States.ArrayRange(1, 9, 2)", "States.ArrayRange(0, 100000000, 1)", "States.ArrayGetItem($.arr, -1)",
		"States.ArrayLength($.arr)", "States.ArrayUnique($.arr)", "States.Base64Encode($.s)", "States.Base64Decode('!!')",
		"States.Hash($.s, 'SHA-256')", "States.Hash($.s, 'MD4')", "States.JsonMerge($.a, $.a, false)",
		"States.MathRandom(1, 10)", "States.MathRandom(10, 1, 3)", "States.MathAdd($.big, 1)", "States.MathAdd(9223372036854775807, 1)",
		"States.StringSplit($.s, ',')", "States.StringSplit($.s, '')", "States.UUID()", "States.Array(States.Array(States.Array()))",
		"States.Format('{}', 1e400)", "States.MathAdd(1.5, -1)", "States.Array(-0, 01, 1e, .5)", "States.Nope()", "States.Array(",
	} {
		f.Add(s, []byte(fuzzDoc))
	}
	f.Fuzz(func(t *testing.T, expr string, doc []byte) {
		call, err := parseIntrinsic(expr)
		if err != nil {
			return
		}
		data, err := decodeJSON(doc)
		if err != nil {
			data, _ = decodeJSON([]byte(fuzzDoc))
		}
		ctxObj := map[string]any{"Execution": map[string]any{"Name": "exec"}}
		v, err := call.eval(&evalEnv{data: data, ctx: ctxObj, rand: func() float64 { return 0.5 }})
		if err != nil {
			if se, ok := err.(*stateError); !ok || se.Error() == "" {
				t.Fatalf("error %v (%T) is not a state error", err, err)
			}
			return
		}
		if out := encodeJSON(v); !json.Valid([]byte(out)) {
			t.Fatalf("%q gave invalid JSON %q", expr, out)
		}
	})
}
