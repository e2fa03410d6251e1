package appsync_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/egress"
)

// igReviewer is the identity AppSync passes for a caller in the IG group.
var igReviewer = &api.Identity{
	Sub: "sub-ig", Username: "sub-ig", Groups: []string{egress.GroupIG},
	Claims: map[string]any{"sub": "sub-ig", "email": "ig@example.org", "name": "Ida IG", "cognito:groups": []any{egress.GroupIG}, "token_use": "id"},
}

// A non-null field that comes back null makes its nullable parent null,
// with one error, as GraphQL requires; sibling fields are unaffected.
func TestExecutorNullPropagation(t *testing.T) {
	resolve := func(_ context.Context, ev api.Event) (any, error) {
		switch ev.Info.FieldName {
		case "getRequest": // egress_status (String!) missing
			return map[string]any{"egress_request_id": "r1"}, nil
		case "listRequests":
			return []any{map[string]any{"egress_request_id": "r2", "egress_status": "PROCESSING"}}, nil
		}
		return nil, nil
	}
	exec, err := appsync.NewExecutor(api.Schema, resolve)
	if err != nil {
		t.Fatal(err)
	}
	resp := exec.Execute(context.Background(), appsync.GraphQLRequest{
		Query: `{ getRequest(egress_request_id: "r1") { egress_request_id egress_status } listRequests { egress_status } }`,
	}, igReviewer)
	b, _ := json.Marshal(resp.Data)
	if string(b) != `{"getRequest":null,"listRequests":[{"egress_status":"PROCESSING"}]}` {
		t.Fatalf("data %s", b)
	}
	if len(resp.Errors) != 1 || !reflect.DeepEqual(resp.Errors[0].Path, []any{"getRequest", "egress_status"}) ||
		!strings.Contains(resp.Errors[0].Message, "non-nullable") {
		t.Fatalf("errors %+v", resp.Errors)
	}
}
