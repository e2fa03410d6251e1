package api_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/tre-egress/egress/local/appsync"
	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/egress"
)

// What the caller is, from each kind of token AppSync may pass.
func TestCaller(t *testing.T) {
	ida := egress.Identity{Subject: "sub-ida", Email: "ida@example.org", Name: "Ida IG", UserID: "u-ida", Groups: []string{egress.GroupIG}}
	unverified := map[string]string{"email": "ida@home.example", "email_verified": "false"}
	tests := []struct {
		name string
		id   *api.Identity
		want egress.Identity
	}{
		{"access token", appsyncIdentity(ida), ida},
		{"ID token", appsyncID(ida), ida},
		{"access token, e-mail changed and unverified", api.NewIdentity(mint(ida, unverified).Access),
			egress.Identity{Subject: "sub-ida", Name: "Ida IG", UserID: "u-ida", Groups: []string{egress.GroupIG}}},
		{"ID token, e-mail changed and unverified", api.NewIdentity(mint(ida, unverified).ID),
			egress.Identity{Subject: "sub-ida", Name: "Ida IG", UserID: "u-ida", Groups: []string{egress.GroupIG}}},
		// What Cognito issues without the version 2 trigger: no e-mail,
		// no name; the user name stands in for the name.
		{"access token without the trigger", api.NewIdentity(map[string]any{"sub": "sub-ida", "username": "u-name",
			"token_use": "access", "client_id": "web-client", "scope": "openid", "cognito:groups": []any{egress.GroupIG}}),
			egress.Identity{Subject: "sub-ida", Name: "u-name", Groups: []string{egress.GroupIG}}},
		{"ID token with email_verified as a string", api.NewIdentity(map[string]any{"sub": "s", "token_use": "id",
			"email": "a@example.org", "email_verified": "true", "name": "A"}),
			egress.Identity{Subject: "s", Email: "a@example.org", Name: "A"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.id.Caller()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("caller %+v, want %+v", got, tt.want)
			}
		})
	}
}

// AppSync's identity for an access token names the user by username, for
// an ID token by cognito:username.
func TestNewIdentity(t *testing.T) {
	who := egress.Identity{Subject: "sub-x", Email: "x@example.org", Name: "X", Groups: []string{egress.GroupRIT}}
	for name, claims := range map[string]map[string]any{"access": mint(who, nil).Access, "id": mint(who, nil).ID} {
		id := api.NewIdentity(claims)
		if id.Sub != "sub-x" || id.Username != "sub-x" || !strings.HasPrefix(id.Issuer, "https://cognito-idp.") ||
			!reflect.DeepEqual(id.Groups, []string{egress.GroupRIT}) {
			t.Errorf("%s: %+v", name, id)
		}
	}
}

// Defect 2: the frontend sends the access token. Decisions with it, through
// the frontend's own mutation, are recorded with the reviewer's verified
// e-mail and name from the token, never the arguments.
func TestDecideWithAccessToken(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	in := map[string]any{"egress_request_id": r.ID, "task_token": r.TaskToken, "ig_reviewer_1_decision": "APPROVED",
		"ig_reviewer_1_name": "Somebody Else", "ig_reviewer_1_email": "else@example.org"}
	resp := e.exec.Execute(context.Background(), appsync.GraphQLRequest{Query: updateMutation, Variables: map[string]any{"request": in}}, appsyncIdentity(igReviewer))
	if len(resp.Errors) > 0 {
		t.Fatalf("decision with an access token refused: %+v", resp.Errors)
	}
	got, _ := e.table.Get(context.Background(), r.ID)
	if got.Status != egress.StatusIGApproved || len(got.Reviews) != 1 {
		t.Fatalf("request %s, reviews %+v", got.Status, got.Reviews)
	}
	if rv := got.Reviews[0]; rv.Email != igReviewer.Email || rv.Name != igReviewer.Name || rv.Subject != igReviewer.Subject {
		t.Fatalf("review %+v, want %s / %s", rv, igReviewer.Email, igReviewer.Name)
	}
}

// ID tokens still decide.
func TestDecideWithIDToken(t *testing.T) {
	e := newEnv(t)
	r := e.seed(t, fixtures[0])
	in := map[string]any{"egress_request_id": r.ID, "task_token": r.TaskToken, "ig_reviewer_1_decision": "APPROVED"}
	resp := e.exec.Execute(context.Background(), appsync.GraphQLRequest{Query: updateMutation, Variables: map[string]any{"request": in}}, appsyncID(igReviewer))
	if len(resp.Errors) > 0 {
		t.Fatalf("decision with an ID token refused: %+v", resp.Errors)
	}
	if got, _ := e.table.Get(context.Background(), r.ID); got.Status != egress.StatusIGApproved || got.Reviews[0].Email != igReviewer.Email {
		t.Fatalf("request %s, reviews %+v", got.Status, got.Reviews)
	}
}

// Decisions fail closed with a ForbiddenError when the token carries no
// verified e-mail, and nothing is stored or resumed.
func TestDecideWithoutVerifiedEmail(t *testing.T) {
	unverified := map[string]string{"email": "ida@home.example", "email_verified": "false"}
	tests := []struct {
		name string
		id   *api.Identity
	}{
		{"access token, e-mail changed and unverified", api.NewIdentity(mint(igReviewer, unverified).Access)},
		{"ID token, e-mail changed and unverified", api.NewIdentity(mint(igReviewer, unverified).ID)},
		{"access token without the trigger", api.NewIdentity(map[string]any{"sub": igReviewer.Subject, "username": "ida",
			"token_use": "access", "client_id": "web-client", "scope": "aws.cognito.signin.user.admin", "cognito:groups": []any{egress.GroupIG}})},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.seed(t, fixtures[0])
			in := map[string]any{"egress_request_id": r.ID, "task_token": r.TaskToken, "ig_reviewer_1_decision": "APPROVED",
				"ig_reviewer_1_email": igReviewer.Email}
			resp := e.exec.Execute(context.Background(), appsync.GraphQLRequest{Query: updateMutation, Variables: map[string]any{"request": in}}, tt.id)
			if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != egress.EFORBIDDEN || !strings.Contains(resp.Errors[0].Message, "no verified e-mail") {
				t.Fatalf("errors %+v, want one ForbiddenError about the e-mail", resp.Errors)
			}
			if got, _ := e.table.Get(context.Background(), r.ID); got.Status != egress.StatusProcessing || len(got.Reviews) != 0 || len(e.wf.calls(r.TaskToken)) != 0 {
				t.Fatalf("refused decision changed the request: %s %+v", got.Status, got.Reviews)
			}
		})
	}
}

// Defect 3: the requester is recognised by the SWB user id the user pool
// maps them to (an attribute only an administrator sets), whatever e-mail
// they now use; Cognito's sub, never equal to an SWB user id, is not
// compared.
func TestRequesterBySWBUserID(t *testing.T) {
	// A reviewer account of the researcher, with another verified address.
	other := egress.Identity{Subject: "sub-rita-2", Email: "rita@home.example", Name: "Rita", UserID: "u-researcher",
		Groups: []string{egress.GroupIG, egress.GroupRIT}}
	e := newEnv(t)
	for name, id := range map[string]*api.Identity{"access token": appsyncIdentity(other), "ID token": appsyncID(other)} {
		t.Run(name, func(t *testing.T) {
			r := e.seed(t, fixtures[0])
			if r.RequestedBy != other.UserID {
				t.Fatalf("fixture requested by %s", r.RequestedBy)
			}
			in := map[string]any{"egress_request_id": r.ID, "task_token": r.TaskToken, "ig_reviewer_1_decision": "APPROVED"}
			resp := e.exec.Execute(context.Background(), appsync.GraphQLRequest{Query: updateMutation, Variables: map[string]any{"request": in}}, id)
			if len(resp.Errors) != 1 || resp.Errors[0].ErrorType != egress.EFORBIDDEN || !strings.Contains(resp.Errors[0].Message, "own request") {
				t.Fatalf("errors %+v, want a ForbiddenError for the requester", resp.Errors)
			}
		})
	}
	// Another SWB user with the same groups decides.
	r := e.seed(t, fixtures[0])
	reviewer := other
	reviewer.Subject, reviewer.Email, reviewer.UserID = "sub-ida", "ida@example.org", "u-ida"
	in := map[string]any{"egress_request_id": r.ID, "task_token": r.TaskToken, "ig_reviewer_1_decision": "APPROVED"}
	if resp := e.exec.Execute(context.Background(), appsync.GraphQLRequest{Query: updateMutation, Variables: map[string]any{"request": in}}, appsyncIdentity(reviewer)); len(resp.Errors) > 0 {
		t.Fatalf("another user refused: %+v", resp.Errors)
	}
}

// The mapping attribute is read from the claim the trigger and Cognito
// put in the tokens.
func TestUserIDClaim(t *testing.T) {
	who := egress.Identity{Subject: "s", Email: "a@example.org", UserID: "u-a"}
	for name, claims := range map[string]map[string]any{"access": mint(who, nil).Access, "id": mint(who, nil).ID} {
		if claims[cognito.UserIDAttribute] != "u-a" {
			t.Errorf("%s token claims %v", name, claims)
		}
	}
}
