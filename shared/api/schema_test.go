package api

import (
	"github.com/tre-egress/egress/shared/egress"
	"reflect"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

func loadSchema(t *testing.T, schema string) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(
		&ast.Source{Name: "appsync.graphql", Input: appSyncPrelude, BuiltIn: true},
		&ast.Source{Name: "schema.graphql", Input: schema},
	)
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
	s := loadSchema(t, Schema)
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
	for i, f := range []string{
		"egress_request_id", "egress_store_name", "swb_egress_store_id", "project_id", "workspace_id",
		"requested_by", "requested_dt", "updated_by", "updated_dt", "egress_status", "s3_egress_store_bucket",
		"s3_egress_store_bucket_path", "s3_egress_store_object_list_location", "s3_swb_object_metadata_version",
		"task_token", "ig_reviewer_1_name", "ig_reviewer_1_email", "ig_reviewer_1_dt", "ig_reviewer_1_reason",
		"ig_reviewer_1_decision", "rit_reviewer_2_name", "rit_reviewer_2_email", "rit_reviewer_2_dt",
		"rit_reviewer_2_reason", "rit_reviewer_2_decision", "current_reviewer_group",
		"s3_staging_object_metadata_version", "download_count", "is_single_approval_enabled",
	} {
		typ := "String"
		if i < 14 {
			typ = "String!"
		}
		request = append(request, fieldSig{f, typ, "", ""})
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
		wantList, wantDL     string
	}{
		{"defaults", nil, nil, `["InformationGovernance","TREAdmin"]`, `["InformationGovernance"]`},
		{"other roles", []string{"DataManager", "ResearchIT"}, nil, `["DataManager","ResearchIT"]`, `["DataManager"]`},
		{"one role, other download group", []string{"InformationGovernance"}, []string{"Downloaders"}, `["InformationGovernance"]`, `["Downloaders"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := loadSchema(t, SchemaFor(tt.reviewers, tt.downloads))
			for _, f := range []*ast.FieldDefinition{s.Query.Fields.ForName("listRequests"), s.Query.Fields.ForName("requests"), s.Mutation.Fields.ForName("updateRequest")} {
				if got := signature(f).groups; got != tt.wantList {
					t.Errorf("%s groups %s, want %s", f.Name, got, tt.wantList)
				}
			}
			if got := signature(s.Mutation.Fields.ForName("downloadData")).groups; got != tt.wantDL {
				t.Errorf("downloadData groups %s, want %s", got, tt.wantDL)
			}
		})
	}
}

// Every root field and nested resolver of the schema is dispatched, and
// nothing else.
func TestFieldResolversMatchSchema(t *testing.T) {
	s := loadSchema(t, Schema)
	var roots []string
	for _, def := range []*ast.Definition{s.Query, s.Mutation} {
		for _, f := range def.Fields {
			if !strings.HasPrefix(f.Name, "__") {
				roots = append(roots, def.Name+"."+f.Name)
			}
		}
	}
	roots = append(roots, "Request.files", "Request.filePage", "Request.history")
	if !reflect.DeepEqual(roots, FieldResolvers) {
		t.Fatalf("schema fields %v, FieldResolvers %v", roots, FieldResolvers)
	}
}

func TestRedact(t *testing.T) {
	token := strings.Repeat("AQCEAAAAKgAAAAMAAAAAAAAAAe", 8)
	in := "send task result: token " + token + ` failed; GET "http://127.0.0.1:9000/b/k?X-Amz-Signature=abc" done`
	got := egress.Redact(in)
	if strings.Contains(got, token) || strings.Contains(got, "X-Amz") || strings.Contains(got, "127.0.0.1") {
		t.Fatalf("redact = %q", got)
	}
	if !strings.Contains(got, "send task result") || !strings.Contains(got, "done") {
		t.Fatalf("redact removed too much: %q", got)
	}
}
