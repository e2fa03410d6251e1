package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsappsync"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/tre-egress/egress/shared/api"
)

// field is a schema field with a resolver: Query.listRequests, ...
type field struct{ typ, name string }

func (f field) String() string { return f.typ + "." + f.name }

// nestedResolvers are the fields below the root that egress-api resolves
// (api.FieldResolvers, the resolver's dispatch); all other nested fields
// come with their parent.
var nestedResolvers = func() []field {
	var out []field
	for _, f := range api.FieldResolvers {
		typ, name, _ := strings.Cut(f, ".")
		if typ != "Query" && typ != "Mutation" {
			out = append(out, field{typ, name})
		}
	}
	return out
}()

// resolverFields lists the fields that get a direct Lambda resolver: every
// field of Query and Mutation, in schema order, and nestedResolvers. The
// parse is syntactic only: AppSync's own directives and scalars need no
// declarations.
func resolverFields(schema string) ([]field, error) {
	doc, err := parser.ParseSchema(&ast.Source{Name: "schema.graphql", Input: schema})
	if err != nil {
		return nil, err
	}
	var out []field
	defs := append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...)
	for _, d := range defs {
		if d.Kind == ast.Object && (d.Name == "Query" || d.Name == "Mutation") {
			for _, f := range d.Fields {
				out = append(out, field{d.Name, f.Name})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Query or Mutation fields")
	}
	for _, n := range nestedResolvers {
		d := doc.Definitions.ForName(n.typ)
		if d == nil || d.Fields.ForName(n.name) == nil {
			return nil, fmt.Errorf("resolver field %s is not in the schema", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// api creates the AppSync API the frontend calls: Cognito user pool
// authorization, every root field resolved directly by egress-api, which
// takes identity from AppSync, never from arguments.
func (b *builder) api(schema string, fields []field) error {
	// Definition_FromFile reads the file at once; the rendered schema only
	// needs to exist while the definition is made.
	dir, err := os.MkdirTemp("", "egress-schema-")
	if err != nil {
		return fmt.Errorf("stack: GraphQL schema: %w", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "schema.graphql")
	if err := os.WriteFile(file, []byte(schema), 0o600); err != nil {
		return fmt.Errorf("stack: GraphQL schema: %w", err)
	}

	logsRole := awsiam.NewRole(b.stack, jsii.String("ApiLogsRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("appsync.amazonaws.com"), nil),
		Description: jsii.String("egress AppSync API: writes its logs"),
	})
	b.graphql = awsappsync.NewGraphqlApi(b.stack, jsii.String("Api"), &awsappsync.GraphqlApiProps{
		Name:       jsii.String(b.cfg.StackName() + "-api"),
		Definition: awsappsync.Definition_FromFile(jsii.String(file)),
		AuthorizationConfig: &awsappsync.AuthorizationConfig{
			DefaultAuthorization: &awsappsync.AuthorizationMode{
				AuthorizationType: awsappsync.AuthorizationType_USER_POOL,
				UserPoolConfig: &awsappsync.UserPoolConfig{
					UserPool:      b.pool,
					DefaultAction: awsappsync.UserPoolDefaultAction_ALLOW,
				},
			},
		},
		XrayEnabled:         jsii.Bool(true),
		IntrospectionConfig: awsappsync.IntrospectionConfig_DISABLED,
		// Bound one request's work: shared/api explains the values.
		QueryDepthLimit:    jsii.Number(api.MaxQueryDepth),
		ResolverCountLimit: jsii.Number(api.MaxResolverCount),
	})
	// The log configuration is set on the L1 resource: the L2 prop would add
	// a log-retention custom resource (a Lambda function with logs:* on *).
	// Creating AppSync's group /aws/appsync/apis/<id> here sets retention.
	b.graphql.Node().DefaultChild().(awsappsync.CfnGraphQLApi).SetLogConfig(&awsappsync.CfnGraphQLApi_LogConfigProperty{
		CloudWatchLogsRoleArn: logsRole.RoleArn(),
		FieldLogLevel:         jsii.String("ERROR"),
		// Verbose content would log resolver arguments and headers: task
		// tokens and Cognito tokens.
		ExcludeVerboseContent: jsii.Bool(true),
	})
	logs := awslogs.NewLogGroup(b.stack, jsii.String("ApiLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/appsync/apis/" + *b.graphql.ApiId()),
		Retention:     b.logRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logs.GrantWrite(logsRole)

	b.apiSource = b.graphql.AddLambdaDataSource(jsii.String("EgressApiSource"), b.fns["egress-api"].fn, &awsappsync.DataSourceOptions{
		Description: jsii.String("egress-api direct Lambda resolver"),
	})
	for _, f := range fields {
		b.apiSource.CreateResolver(jsii.String(f.typ+strings.ToUpper(f.name[:1])+f.name[1:]+"Resolver"), &awsappsync.BaseResolverProps{
			TypeName:  jsii.String(f.typ),
			FieldName: jsii.String(f.name),
		})
	}
	if arn := b.cfg.RegionalWebACLARN; arn != "" {
		awswafv2.NewCfnWebACLAssociation(b.stack, jsii.String("ApiFirewall"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: b.graphql.Arn(),
			WebAclArn:   jsii.String(arn),
		})
	}
	return nil
}
