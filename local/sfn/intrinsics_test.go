package sfn

import (
	"regexp"
	"strings"
	"testing"
)

func evalIntrinsic(t *testing.T, expr, input string, rnd float64) (any, error) {
	t.Helper()
	call, err := parseIntrinsic(expr)
	if err != nil {
		return nil, err
	}
	data, err := decodeJSON([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	ctxObj := map[string]any{"Execution": map[string]any{"Name": "exec"}}
	return call.eval(&evalEnv{data: data, ctx: ctxObj, rand: func() float64 { return rnd }})
}

func TestIntrinsics(t *testing.T) {
	input := `{"name":"Ada","n":3,"arr":[1,2,2,"a",{"k":1},{"k":1}],"obj":{"a":1,"b":{"x":1}},
		"obj2":{"b":{"y":2},"c":3},"json":"{\"k\":[1,2]}","b64":"aGVsbG8=","csv":"a,b;;c","big":12345678901234567890}`
	cases := []struct {
		expr string
		want string
	}{
		{`States.Format('Hello, {}!', $.name)`, `"Hello, Ada!"`},
		{`States.Format('{} + {} = {}', 1, $.n, true)`, `"1 + 3 = true"`},
		{`States.Format('null is {}', null)`, `"null is null"`},
		{`States.Format('it\'s \{literal\} {}, path \\ {}', $.name, $$.Execution.Name)`, `"it's {literal} Ada, path \\ exec"`},
		{`States.Format('no placeholders')`, `"no placeholders"`},
		{`States.StringToJson($.json)`, `{"k":[1,2]}`},
		{`States.JsonToString($.obj)`, `"{\"a\":1,\"b\":{\"x\":1}}"`},
		{`States.JsonToString($.big)`, `"12345678901234567890"`},
		{`States.Array(1, 'two', $.n, true, null)`, `[1,"two",3,true,null]`},
		{`States.Array()`, `[]`},
		{`States.ArrayPartition(States.Array(1,2,3,4,5), 2)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayPartition(States.Array(), 2)`, `[]`},
		{`States.ArrayContains($.arr, 'a')`, `true`},
		{`States.ArrayContains($.arr, $.obj2)`, `false`},
		{`States.ArrayContains($.arr, 2.0)`, `true`},
		{`States.ArrayRange(1, 9, 2)`, `[1,3,5,7,9]`},
		{`States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{`States.ArrayGetItem($.arr, 3)`, `"a"`},
		{`States.ArrayLength($.arr)`, `6`},
		{`States.ArrayUnique($.arr)`, `[1,2,"a",{"k":1}]`},
		{`States.Base64Encode('hello')`, `"aGVsbG8="`},
		{`States.Base64Decode($.b64)`, `"hello"`},
		{`States.Hash('hello', 'MD5')`, `"5d41402abc4b2a76b9719d911017c592"`},
		{`States.Hash('hello', 'SHA-1')`, `"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"`},
		{`States.Hash('hello', 'SHA-256')`, `"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"`},
		{`States.Hash('hello', 'SHA-384')`, `"59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f"`},
		{`States.Hash('hello', 'SHA-512')`, `"9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"`},
		{`States.JsonMerge($.obj, $.obj2, false)`, `{"a":1,"b":{"y":2},"c":3}`},
		{`States.JsonMerge($.obj, $.obj2, true)`, `{"a":1,"b":{"x":1,"y":2},"c":3}`},
		{`States.MathRandom(10, 20)`, `15`},
		{`States.MathAdd($.n, -5)`, `-2`},
		{`States.MathAdd(1.6, 1)`, `3`},
		{`States.StringSplit($.csv, ',;')`, `["a","b","c"]`},
		{`States.StringSplit('1,2,3', ',')`, `["1","2","3"]`},
		{`States.ArrayLength(States.StringSplit(States.Format('{},{}', $.name, $.n), ','))`, `2`},
		{`States.Format('{}', States.ArrayGetItem(States.Array('x', 'y'), 1))`, `"y"`},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := evalIntrinsic(t, tc.expr, input, 0.5)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !sameJSON(t, encodeJSON(got), tc.want) {
				t.Errorf("got %s, want %s", encodeJSON(got), tc.want)
			}
		})
	}
}

func TestIntrinsicMathRandomSeeded(t *testing.T) {
	a, err := evalIntrinsic(t, `States.MathRandom(0, 1000, 42)`, `{}`, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := evalIntrinsic(t, `States.MathRandom(0, 1000, 42)`, `{}`, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if encodeJSON(a) != encodeJSON(b) {
		t.Errorf("the same seed gave %v and %v", a, b)
	}
	if n, _ := integer(a); n < 0 || n >= 1000 {
		t.Errorf("MathRandom(0, 1000) = %v, out of range", a)
	}
}

func TestIntrinsicUUID(t *testing.T) {
	got, err := evalIntrinsic(t, `States.UUID()`, `{}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if s, _ := got.(string); !re.MatchString(s) {
		t.Errorf("UUID() = %v, not a version 4 UUID", got)
	}
}

func TestIntrinsicErrors(t *testing.T) {
	cases := []struct {
		expr, want string
	}{
		{`States.Nope(1)`, `unknown function "States.Nope"`},
		{`States.ArrayLength()`, `States.ArrayLength takes 1 arguments, got 0`},
		{`States.UUID(1)`, `States.UUID takes 0 arguments, got 1`},
		{`States.Format('x', 1`, `missing ')'`},
		{`States.Format('unterminated)`, `unterminated string literal`},
		{`States.Format('{} {}', 1)`, `more {} placeholders than arguments`},
		{`States.Format('{}', 1, 2)`, `1 {} placeholders but 2 arguments`},
		{`States.Format('{}', $.obj)`, `must be a string, number, boolean or null`},
		{`States.ArrayGetItem($.arr, 9)`, `index 9 is out of bounds`},
		{`States.ArrayLength($.obj)`, `must be an array, got object`},
		{`States.ArrayPartition($.arr, 0)`, `chunk size must be positive`},
		{`States.ArrayRange(1, 2, 0)`, `step must not be zero`},
		{`States.ArrayRange(0, 2000, 1)`, `more than 1000 elements`},
		{`States.Hash('x', 'SHA-3')`, `unsupported algorithm "SHA-3"`},
		{`States.StringToJson('{bad')`, `not valid JSON`},
		{`States.Base64Decode('***')`, `not valid base64`},
		{`States.MathRandom(5, 5)`, `must be greater than the start`},
		{`States.JsonMerge($.obj, $.arr, false)`, `both arguments must be objects`},
		{`States.ArrayLength($.missing)`, `could not be found`},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := evalIntrinsic(t, tc.expr, `{"obj":{},"arr":[1]}`, 0.5)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
