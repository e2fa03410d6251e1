package appsync

import (
	"fmt"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// loadSchema parses schema (api.Schema or api.SchemaFor's output) with
// AppSync's built-in directives and scalars.
func loadSchema(schema string) (*ast.Schema, error) {
	s, err := gqlparser.LoadSchema(
		&ast.Source{Name: "appsync.graphql", Input: prelude, BuiltIn: true},
		&ast.Source{Name: "schema.graphql", Input: schema},
	)
	if err != nil {
		return nil, fmt.Errorf("load schema: %w", err)
	}
	return s, nil
}

// prelude declares what AppSync defines itself, so the schema parses
// outside AppSync (AppSync refuses a schema that redeclares them).
const prelude = `
directive @aws_auth(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT
directive @aws_cognito_user_pools(cognito_groups: [String]) on FIELD_DEFINITION | OBJECT
directive @aws_api_key on FIELD_DEFINITION | OBJECT
directive @aws_iam on FIELD_DEFINITION | OBJECT
directive @aws_oidc on FIELD_DEFINITION | OBJECT
directive @aws_lambda on FIELD_DEFINITION | OBJECT
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
scalar AWSDate
scalar AWSTime
scalar AWSDateTime
scalar AWSTimestamp
scalar AWSEmail
scalar AWSJSON
scalar AWSURL
scalar AWSPhone
scalar AWSIPAddress
`
