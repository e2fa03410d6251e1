package sfn

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"maps"
	"math"
	mrand "math/rand/v2"
	"strings"
)

// intrinsic is a compiled intrinsic function call such as
// States.Format('{} items', States.ArrayLength($.items)).
type intrinsic struct {
	name string
	args []intrinsicArg
	fn   *intrinsicFunc
}

type argKind int

const (
	argLiteral argKind = iota // number, true, false or null
	argString                 // 'quoted string'
	argPath                   // $.x or $$.y
	argCall                   // nested States.X(...)
)

type intrinsicArg struct {
	kind argKind
	lit  any    // argLiteral value or unescaped argString text
	raw  string // argString text with escapes intact; States.Format needs it to tell \{ from {
	path *path
	call *intrinsic
}

// evalEnv is what expressions are evaluated against: the data "$" refers to,
// the context object "$$" refers to, and the engine's random source.
type evalEnv struct {
	data, ctx any
	rand      func() float64
}

type intrinsicFunc struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	eval             func(env *evalEnv, call *intrinsic, args []any) (any, error)
}

// intrinsics is the table of supported functions, by name.
var intrinsics = map[string]*intrinsicFunc{
	"States.Format":         {1, -1, fnFormat},
	"States.StringToJson":   {1, 1, fnStringToJSON},
	"States.JsonToString":   {1, 1, fnJSONToString},
	"States.Array":          {0, -1, fnArray},
	"States.ArrayPartition": {2, 2, fnArrayPartition},
	"States.ArrayContains":  {2, 2, fnArrayContains},
	"States.ArrayRange":     {3, 3, fnArrayRange},
	"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
	"States.ArrayLength":    {1, 1, fnArrayLength},
	"States.ArrayUnique":    {1, 1, fnArrayUnique},
	"States.Base64Encode":   {1, 1, fnBase64Encode},
	"States.Base64Decode":   {1, 1, fnBase64Decode},
	"States.Hash":           {2, 2, fnHash},
	"States.JsonMerge":      {3, 3, fnJSONMerge},
	"States.MathRandom":     {2, 3, fnMathRandom},
	"States.MathAdd":        {2, 2, fnMathAdd},
	"States.StringSplit":    {2, 2, fnStringSplit},
	"States.UUID":           {0, 0, fnUUID},
}

// isIntrinsic reports whether a ".$" value is an intrinsic function call
// rather than a path.
func isIntrinsic(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "States.") }

// parseIntrinsic compiles an intrinsic function call, checking function
// names and argument counts up front so definitions fail validation rather
// than executions failing at run time.
func parseIntrinsic(s string) (*intrinsic, error) {
	p := &intrinsicParser{s: s}
	call, err := p.call()
	if err != nil {
		return nil, fmt.Errorf("invalid intrinsic function %q: %w", s, err)
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("invalid intrinsic function %q: unexpected %q after the call", s, p.s[p.pos:])
	}
	return call, nil
}

type intrinsicParser struct {
	s   string
	pos int
}

func (p *intrinsicParser) skipSpace() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *intrinsicParser) call() (*intrinsic, error) {
	p.skipSpace()
	open := strings.IndexByte(p.s[p.pos:], '(')
	if open < 0 {
		return nil, errors.New("missing '('")
	}
	name := strings.TrimSpace(p.s[p.pos : p.pos+open])
	fn, ok := intrinsics[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %q", name)
	}
	p.pos += open + 1
	call := &intrinsic{name: name, fn: fn}
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ')' {
		p.pos++
	} else {
		for {
			arg, err := p.arg()
			if err != nil {
				return nil, err
			}
			call.args = append(call.args, arg)
			p.skipSpace()
			if p.pos >= len(p.s) {
				return nil, fmt.Errorf("missing ')' closing %s", name)
			}
			c := p.s[p.pos]
			p.pos++
			if c == ')' {
				break
			}
			if c != ',' {
				return nil, fmt.Errorf("expected ',' or ')' in arguments of %s, got %q", name, c)
			}
		}
	}
	if n := len(call.args); n < fn.minArgs || (fn.maxArgs >= 0 && n > fn.maxArgs) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arity(fn), n)
	}
	return call, nil
}

func arity(fn *intrinsicFunc) string {
	switch {
	case fn.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", fn.minArgs)
	case fn.minArgs == fn.maxArgs:
		return fmt.Sprintf("%d arguments", fn.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", fn.minArgs, fn.maxArgs)
}

func (p *intrinsicParser) arg() (intrinsicArg, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return intrinsicArg{}, errors.New("missing argument")
	}
	rest := p.s[p.pos:]
	switch {
	case rest[0] == '\'':
		var raw, val strings.Builder
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				if i+1 >= len(rest) {
					return intrinsicArg{}, errors.New("unterminated escape in string literal")
				}
				raw.WriteByte('\\')
				raw.WriteByte(rest[i+1])
				val.WriteByte(rest[i+1])
				i++
			case '\'':
				p.pos += i + 1
				return intrinsicArg{kind: argString, lit: val.String(), raw: raw.String()}, nil
			default:
				raw.WriteByte(rest[i])
				val.WriteByte(rest[i])
			}
		}
		return intrinsicArg{}, errors.New("unterminated string literal")
	case rest[0] == '$':
		end, err := argEnd(rest)
		if err != nil {
			return intrinsicArg{}, err
		}
		pp, err := parsePath(strings.TrimSpace(rest[:end]))
		if err != nil {
			return intrinsicArg{}, err
		}
		p.pos += end
		return intrinsicArg{kind: argPath, path: pp}, nil
	case strings.HasPrefix(rest, "States."):
		call, err := p.call()
		if err != nil {
			return intrinsicArg{}, err
		}
		return intrinsicArg{kind: argCall, call: call}, nil
	}
	end, err := argEnd(rest)
	if err != nil {
		return intrinsicArg{}, err
	}
	word := strings.TrimSpace(rest[:end])
	v, err := decodeJSON([]byte(word))
	if err != nil || jsonType(v) == "string" || jsonType(v) == "array" || jsonType(v) == "object" {
		return intrinsicArg{}, fmt.Errorf("invalid argument %q", word)
	}
	p.pos += end
	return intrinsicArg{kind: argLiteral, lit: v}, nil
}

// argEnd finds where an unquoted argument ends: at a ',' or ')' that is not
// inside brackets or quotes (paths such as $['a,b'] contain both).
func argEnd(s string) (int, error) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'', '"':
			if depth > 0 {
				j, err := quoteEnd(s, i)
				if err != nil {
					return 0, err
				}
				i = j
			}
		case '[', '(':
			depth++
		case ']':
			depth--
		case ')':
			if depth == 0 {
				return i, nil
			}
			depth--
		case ',':
			if depth == 0 {
				return i, nil
			}
		}
	}
	return 0, errors.New("missing ')'")
}

// eval evaluates the call; failures are States.Runtime errors naming the function.
func (c *intrinsic) eval(env *evalEnv) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		switch a.kind {
		case argLiteral, argString:
			args[i] = a.lit
		case argPath:
			v, err := a.path.lookup(env.data, env.ctx)
			if err != nil {
				return nil, runtimeErr("The JSONPath %s specified as an argument of %s could not be found", a.path, c.name)
			}
			args[i] = v
		case argCall:
			v, err := a.call.eval(env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	v, err := c.fn.eval(env, c, args)
	if err != nil {
		var se *stateError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, runtimeErr("The function %s failed: %v", c.name, err)
	}
	return v, nil
}

func stringArg(args []any, i int, what string) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string, got %s", what, jsonType(args[i]))
	}
	return s, nil
}

func arrayArg(args []any, i int, what string) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an array, got %s", what, jsonType(args[i]))
	}
	return a, nil
}

func intArg(args []any, i int, what string) (int64, error) {
	n, ok := integer(args[i])
	if !ok {
		return 0, fmt.Errorf("%s must be an integer, got %s", what, encodeJSON(args[i]))
	}
	return n, nil
}

// roundedArg accepts any number and rounds it to the nearest integer, as AWS
// documents for States.MathAdd and States.MathRandom.
func roundedArg(args []any, i int, what string) (int64, error) {
	f, ok := number(args[i])
	if !ok {
		return 0, fmt.Errorf("%s must be a number, got %s", what, jsonType(args[i]))
	}
	return int64(math.Round(f)), nil
}

const maxIntrinsicString = 10000

func fnFormat(_ *evalEnv, call *intrinsic, args []any) (any, error) {
	tmpl, err := stringArg(args, 0, "the template")
	if err != nil {
		return nil, err
	}
	escaped := false
	if call.args[0].kind == argString {
		tmpl, escaped = call.args[0].raw, true
	}
	var b strings.Builder
	next := 1
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case escaped && c == '\\' && i+1 < len(tmpl):
			i++
			b.WriteByte(tmpl[i])
		case c == '{' && i+1 < len(tmpl) && tmpl[i+1] == '}':
			if next >= len(args) {
				return nil, errors.New("the template has more {} placeholders than arguments")
			}
			switch v := args[next].(type) {
			case string:
				b.WriteString(v)
			case map[string]any, []any:
				return nil, fmt.Errorf("argument %d must be a string, number, boolean or null, got %s", next, jsonType(v))
			default:
				b.WriteString(encodeJSON(v))
			}
			next++
			i++
		default:
			b.WriteByte(c)
		}
	}
	if next != len(args) {
		return nil, fmt.Errorf("the template has %d {} placeholders but %d arguments were given", next-1, len(args)-1)
	}
	return b.String(), nil
}

func fnStringToJSON(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	s, err := stringArg(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the argument is not valid JSON: %w", err)
	}
	return v, nil
}

func fnJSONToString(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	return encodeJSON(args[0]), nil
}

func fnArray(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	return append([]any{}, args...), nil
}

func fnArrayPartition(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, err := arrayArg(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	size, err := intArg(args, 1, "the chunk size")
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("the chunk size must be positive, got %d", size)
	}
	out := []any{}
	for start := 0; start < len(a); start += int(size) {
		end := min(start+int(size), len(a))
		out = append(out, append([]any{}, a[start:end]...))
	}
	return out, nil
}

func fnArrayContains(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, err := arrayArg(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	for _, v := range a {
		if jsonEqual(v, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

const maxArrayRange = 1000

func fnArrayRange(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	var n [3]int64
	for i, what := range []string{"the start", "the end", "the step"} {
		v, err := intArg(args, i, what)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, errors.New("the step must not be zero")
	}
	out := []any{}
	for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
		if len(out) == maxArrayRange {
			return nil, fmt.Errorf("the range has more than %d elements", maxArrayRange)
		}
		out = append(out, intNumber(i))
	}
	return out, nil
}

func fnArrayGetItem(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, err := arrayArg(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	i, err := intArg(args, 1, "the index")
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(a)) {
		return nil, fmt.Errorf("index %d is out of bounds for an array of length %d", i, len(a))
	}
	return a[i], nil
}

func fnArrayLength(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, err := arrayArg(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	return intNumber(int64(len(a))), nil
}

func fnArrayUnique(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, err := arrayArg(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	out := []any{}
next:
	for _, v := range a {
		for _, seen := range out {
			if jsonEqual(v, seen) {
				continue next
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func fnBase64Encode(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	s, err := stringArg(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	if len(s) > maxIntrinsicString {
		return nil, fmt.Errorf("the input is longer than %d characters", maxIntrinsicString)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	s, err := stringArg(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	if len(s) > maxIntrinsicString {
		return nil, fmt.Errorf("the input is longer than %d characters", maxIntrinsicString)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the argument is not valid base64: %w", err)
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5":     md5.New,
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func fnHash(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	data, ok := args[0].(string)
	if !ok {
		data = encodeJSON(args[0])
	}
	if len(data) > maxIntrinsicString {
		return nil, fmt.Errorf("the input is longer than %d characters", maxIntrinsicString)
	}
	alg, err := stringArg(args, 1, "the algorithm")
	if err != nil {
		return nil, err
	}
	newHash, ok := hashes[alg]
	if !ok {
		return nil, fmt.Errorf("unsupported algorithm %q: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", alg)
	}
	h := newHash()
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, ok1 := args[0].(map[string]any)
	b, ok2 := args[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("both arguments must be objects, got %s and %s", jsonType(args[0]), jsonType(args[1]))
	}
	deep, ok := args[2].(bool)
	if !ok {
		return nil, fmt.Errorf("the third argument must be a boolean, got %s", jsonType(args[2]))
	}
	return mergeObjects(a, b, deep), nil
}

// mergeObjects returns a new object with b's members over a's; when deep,
// members that are objects on both sides are merged recursively.
func mergeObjects(a, b map[string]any, deep bool) map[string]any {
	out := maps.Clone(a)
	for k, bv := range b {
		if deep {
			am, ok1 := out[k].(map[string]any)
			bm, ok2 := bv.(map[string]any)
			if ok1 && ok2 {
				out[k] = mergeObjects(am, bm, true)
				continue
			}
		}
		out[k] = bv
	}
	return out
}

func fnMathRandom(env *evalEnv, _ *intrinsic, args []any) (any, error) {
	start, err := roundedArg(args, 0, "the start")
	if err != nil {
		return nil, err
	}
	end, err := roundedArg(args, 1, "the end")
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, fmt.Errorf("the end (%d) must be greater than the start (%d)", end, start)
	}
	r := env.rand()
	if len(args) == 3 {
		seed, err := roundedArg(args, 2, "the seed")
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), 0)).Float64()
	}
	// start is inclusive and end exclusive.
	return intNumber(start + int64(r*float64(end-start))), nil
}

func fnMathAdd(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	a, err := roundedArg(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	b, err := roundedArg(args, 1, "the second argument")
	if err != nil {
		return nil, err
	}
	return intNumber(a + b), nil
}

func fnStringSplit(_ *evalEnv, _ *intrinsic, args []any) (any, error) {
	s, err := stringArg(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	delims, err := stringArg(args, 1, "the delimiter")
	if err != nil {
		return nil, err
	}
	out := []any{}
	// Each character of the delimiter argument is a delimiter of its own,
	// and empty pieces are dropped.
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, part)
	}
	return out, nil
}

func fnUUID(_ *evalEnv, _ *intrinsic, _ []any) (any, error) {
	return newUUID(), nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
