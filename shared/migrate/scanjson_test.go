package migrate

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// fixturePath is a sample of the original's requests table as
// `aws dynamodb scan --table-name <old table>` prints it (testdata/README.md
// says what each item is).
const fixturePath = "testdata/original-requests-scan.json"

// loadScan reads `aws dynamodb scan` output: {"Items": [...]} in DynamoDB
// JSON.
func loadScan(t testing.TB, path string) []map[string]types.AttributeValue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Items []map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	items := make([]map[string]types.AttributeValue, len(out.Items))
	for i, raw := range out.Items {
		items[i] = map[string]types.AttributeValue{}
		for name, v := range raw {
			av, err := decodeAttr(v)
			if err != nil {
				t.Fatalf("%s: Items[%d].%s: %v", path, i, name, err)
			}
			items[i][name] = av
		}
	}
	return items
}

// decodeAttr decodes one attribute value in DynamoDB JSON ({"S": "..."}).
func decodeAttr(raw json.RawMessage) (types.AttributeValue, error) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil || len(v) != 1 {
		return nil, fmt.Errorf("want one {\"<type>\": value}, got %s", raw)
	}
	for typ, val := range v {
		switch typ {
		case "S", "N":
			var s string
			if err := json.Unmarshal(val, &s); err != nil {
				return nil, err
			}
			if typ == "N" {
				return &types.AttributeValueMemberN{Value: s}, nil
			}
			return &types.AttributeValueMemberS{Value: s}, nil
		case "BOOL":
			var b bool
			if err := json.Unmarshal(val, &b); err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberBOOL{Value: b}, nil
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}, nil
		case "M":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(val, &m); err != nil {
				return nil, err
			}
			out := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
			for k, e := range m {
				av, err := decodeAttr(e)
				if err != nil {
					return nil, err
				}
				out.Value[k] = av
			}
			return out, nil
		case "L":
			var l []json.RawMessage
			if err := json.Unmarshal(val, &l); err != nil {
				return nil, err
			}
			out := &types.AttributeValueMemberL{}
			for _, e := range l {
				av, err := decodeAttr(e)
				if err != nil {
					return nil, err
				}
				out.Value = append(out.Value, av)
			}
			return out, nil
		}
		return nil, fmt.Errorf("type %q is not used by the original's table", typ)
	}
	panic("unreachable")
}
