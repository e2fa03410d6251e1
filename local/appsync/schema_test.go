package appsync

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/tre-egress/egress/shared/api"
	"github.com/tre-egress/egress/shared/api/apitest"
)

func mustLoad(t *testing.T, schema string) *ast.Schema {
	t.Helper()
	s, err := loadSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fieldSig is a field as contract 3 states it.
type fieldSig struct {
	name, typ string
	args      string // "name: Type, ..."
	groups    string // cognito_groups of @aws_auth, "" for none
}

func signature(f *ast.FieldDefinition) fieldSig {
	var args []string
	for _, a := range f.Arguments {
		args = append(args, a.Name+": "+a.Type.String())
	}
	sig := fieldSig{name: f.Name, typ: f.Type.String(), args: strings.Join(args, ", ")}
	if d := f.Directives.ForName("aws_auth"); d != nil {
		sig.groups = d.Arguments.ForName("cognito_groups").Value.String()
	}
	return sig
}

// Contract 3, field by field: nothing the frontend uses may change shape.
func TestSchemaKeepsContract3(t *testing.T) {
	s := mustLoad(t, api.Schema)
	both := `["InformationGovernance","TREAdmin"]`
	checks := []struct {
		typ  string
		want []fieldSig
	}{
		{"Query", []fieldSig{{"listRequests", "[Request]", "", both}}},
		{"Mutation", []fieldSig{
			{"updateRequest", "String", "request: UpdateRequestInput!", both},
			{"downloadData", "presign_payload", "request: DownloadDataInput!", `["InformationGovernance"]`},
		}},
		{"DownloadDataInput", []fieldSig{{"egress_request_id", "String!", "", ""}, {"workspace_id", "String!", "", ""}, {"download_count", "String!", "", ""}}},
		{"presign_payload", []fieldSig{{"presign_url", "String", "", ""}}},
	}
	update := []fieldSig{{"egress_request_id", "String!", "", ""}, {"task_token", "String!", "", ""}}
	for _, p := range []string{"ig_reviewer_1_", "rit_reviewer_2_"} {
		for _, f := range []string{"name", "email", "dt", "reason", "decision"} {
			update = append(update, fieldSig{p + f, "String", "", ""})
		}
	}
	checks = append(checks, struct {
		typ  string
		want []fieldSig
	}{"UpdateRequestInput", update})
	var request []fieldSig
	for _, f := range apitest.RequestFields(t) {
		request = append(request, fieldSig{f.Name, f.Type, "", ""})
	}
	if len(request) != 29 {
		t.Fatalf("contract lists %d Request fields", len(request))
	}
	checks = append(checks, struct {
		typ  string
		want []fieldSig
	}{"Request", request})

	for _, c := range checks {
		def := s.Types[c.typ]
		if def == nil {
			t.Errorf("type %s missing", c.typ)
			continue
		}
		// Contract fields come first, in order; anything after is an
		// addition, which input types may not have (the frontend builds
		// them).
		if len(def.Fields) < len(c.want) || (def.Kind == ast.InputObject && len(def.Fields) != len(c.want)) {
			t.Errorf("%s has %d fields, contract %d", c.typ, len(def.Fields), len(c.want))
			continue
		}
		for i, want := range c.want {
			if got := signature(def.Fields[i]); got != want {
				t.Errorf("%s field %d = %+v, want %+v", c.typ, i, got, want)
			}
		}
		for _, f := range def.Fields[len(c.want):] {
			if !strings.HasPrefix(f.Name, "__") && f.Type.NonNull {
				t.Errorf("addition %s.%s must be optional", c.typ, f.Name)
			}
		}
	}
}

func TestSchemaFor(t *testing.T) {
	tests := []struct {
		name                 string
		reviewers, downloads []string
		researcher           string
		wantList, wantDL     string
		wantRead, wantMine   string // getRequest's and myRequests' groups
		wantQueue            string // reviewQueue's: the TRE admins', then the reviewers'
	}{
		{"defaults", nil, nil, "", `["InformationGovernance","TREAdmin"]`, `["InformationGovernance"]`,
			`["InformationGovernance","TREAdmin"]`, `["InformationGovernance","TREAdmin"]`, `["TREAdmin","InformationGovernance"]`},
		{"other roles", []string{"DataManager", "ResearchIT"}, nil, "", `["DataManager","ResearchIT"]`, `["DataManager"]`,
			`["DataManager","ResearchIT"]`, `["DataManager","ResearchIT"]`, `["TREAdmin","DataManager","ResearchIT"]`},
		{"one role, other download group", []string{"InformationGovernance"}, []string{"Downloaders"}, "", `["InformationGovernance"]`, `["Downloaders"]`,
			`["InformationGovernance"]`, `["InformationGovernance"]`, `["TREAdmin","InformationGovernance"]`},
		{"researchers", nil, nil, "Scientists", `["InformationGovernance","TREAdmin"]`, `["InformationGovernance"]`,
			`["InformationGovernance","TREAdmin","Scientists"]`, `["Scientists"]`, `["TREAdmin","InformationGovernance"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustLoad(t, api.SchemaFor(tt.reviewers, tt.downloads, tt.researcher))
			for _, f := range []*ast.FieldDefinition{s.Query.Fields.ForName("listRequests"), s.Query.Fields.ForName("requests"),
				s.Query.Fields.ForName("workspaceRequests"), s.Query.Fields.ForName("previewFile"), s.Mutation.Fields.ForName("updateRequest")} {
				if got := signature(f).groups; got != tt.wantList {
					t.Errorf("%s groups %s, want %s", f.Name, got, tt.wantList)
				}
			}
			if got := signature(s.Mutation.Fields.ForName("downloadData")).groups; got != tt.wantDL {
				t.Errorf("downloadData groups %s, want %s", got, tt.wantDL)
			}
			if got := signature(s.Query.Fields.ForName("getRequest")).groups; got != tt.wantRead {
				t.Errorf("getRequest groups %s, want %s", got, tt.wantRead)
			}
			if got := signature(s.Query.Fields.ForName("myRequests")).groups; got != tt.wantMine {
				t.Errorf("myRequests groups %s, want %s", got, tt.wantMine)
			}
			if got := signature(s.Query.Fields.ForName("reviewQueue")).groups; got != tt.wantQueue {
				t.Errorf("reviewQueue groups %s, want %s", got, tt.wantQueue)
			}
		})
	}
	// The admins' own group, in no reviewer group, gets the queue.
	s := mustLoad(t, api.SchemaForGroups([]string{"DataManager", "ResearchIT"}, nil, []string{"EgressAdmins", "ResearchIT"}, ""))
	if got, want := signature(s.Query.Fields.ForName("reviewQueue")).groups, `["EgressAdmins","ResearchIT","DataManager"]`; got != want {
		t.Errorf("reviewQueue groups %s, want %s", got, want)
	}
}

// Every root field and nested resolver of the schema is dispatched, and
// nothing else.
func TestFieldResolversMatchSchema(t *testing.T) {
	s := mustLoad(t, api.Schema)
	var roots []string
	for _, def := range []*ast.Definition{s.Query, s.Mutation} {
		for _, f := range def.Fields {
			if !strings.HasPrefix(f.Name, "__") {
				roots = append(roots, def.Name+"."+f.Name)
			}
		}
	}
	roots = append(roots, "Request.files", "Request.filePage", "Request.history", "Request.reviews", "Request.previous_request", "Request.changes", "Request.checks")
	if !reflect.DeepEqual(roots, api.FieldResolvers) {
		t.Fatalf("schema fields %v, FieldResolvers %v", roots, api.FieldResolvers)
	}
}
