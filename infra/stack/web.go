package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsamplify"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
)

// WebBranch is the Amplify Hosting branch that serves the frontend.
const WebBranch = "main"

// securityHeaders are sent with every page of the web app; csp is its
// Content-Security-Policy.
func securityHeaders(csp string) string {
	return `customHeaders:
  - pattern: '**'
    headers:
      - key: Content-Security-Policy
        value: "` + csp + `"
      - key: Strict-Transport-Security
        value: max-age=31536000; includeSubDomains
      - key: X-Content-Type-Options
        value: nosniff
      - key: X-Frame-Options
        value: DENY
      - key: Referrer-Policy
        value: same-origin
`
}

// contentSecurityPolicy lets the web app run only its own scripts and call
// only what an Amplify app signed in through Cognito calls: this
// deployment's AppSync endpoint, the user pool's API, the hosted UI's token
// endpoint and the datalake bucket its download links point at (opening a
// link is a navigation, which the policy leaves alone; fetching it is not).
// The schema has no subscriptions, so no AppSync real-time WebSocket. The
// app must be built without inline scripts (Create React App:
// INLINE_RUNTIME_CHUNK=false); inline styles are allowed, as UI libraries
// inject them.
func (b *builder) contentSecurityPolicy() string {
	hostedUI := b.cfg.CognitoDomainPrefix() + ".auth." + b.region() + ".amazoncognito.com"
	if d := b.cfg.CustomDomain; d.Enabled {
		hostedUI = "auth." + d.DomainName
	}
	datalake := bucketName(b.cfg.DatalakeBucketARN) + ".s3." + arnRegion(b.cfg.DatalakeKeyARN) + ".amazonaws.com"
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src 'self' " + *b.graphql.GraphqlUrl() + " https://cognito-idp." + b.region() + ".amazonaws.com https://" + hostedUI + " https://" + datalake,
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// webHeaders sets the web app's headers once the API they name exists.
func (b *builder) webHeaders() {
	b.amplifyApp.SetCustomHeaders(jsii.String(securityHeaders(b.contentSecurityPolicy())))
}

// web creates the Amplify Hosting app and branch for the existing
// frontend. The branch is deployed manually (a zip of the built frontend,
// see infra/README.md), so no repository connection or token is needed.
func (b *builder) web() {
	b.amplifyApp = awsamplify.NewCfnApp(b.stack, jsii.String("WebApp"), &awsamplify.CfnAppProps{
		Name:        jsii.String(b.cfg.StackName() + "-web"),
		Description: jsii.String("Egress reviewers' web app"),
		Platform:    jsii.String("WEB"),
		CustomRules: &[]any{
			// A single-page app: every path that is not a file is the app.
			&awsamplify.CfnApp_CustomRuleProperty{
				Source: jsii.String("</^[^.]+$|\\.(?!(css|gif|ico|jpg|jpeg|js|json|map|png|svg|txt|webp|woff|woff2|ttf)$)([^.]+$)/>"),
				Target: jsii.String("/index.html"),
				Status: jsii.String("200"),
			},
		},
	})
	b.amplifyBranch = awsamplify.NewCfnBranch(b.stack, jsii.String("WebBranch"), &awsamplify.CfnBranchProps{
		AppId:           b.amplifyApp.AttrAppId(),
		BranchName:      jsii.String(WebBranch),
		Stage:           jsii.String("PRODUCTION"),
		EnableAutoBuild: jsii.Bool(false),
	})
	b.webURL = jsii.String("https://" + WebBranch + "." + *b.amplifyApp.AttrDefaultDomain())

	if d := b.cfg.CustomDomain; d.Enabled {
		domain := awsamplify.NewCfnDomain(b.stack, jsii.String("WebDomain"), &awsamplify.CfnDomainProps{
			AppId:      b.amplifyApp.AttrAppId(),
			DomainName: jsii.String(d.HostedZoneName),
			SubDomainSettings: &[]any{&awsamplify.CfnDomain_SubDomainSettingProperty{
				BranchName: b.amplifyBranch.BranchName(),
				Prefix:     jsii.String(strings.TrimSuffix(d.DomainName, "."+d.HostedZoneName)),
			}},
			CertificateSettings: &awsamplify.CfnDomain_CertificateSettingsProperty{
				CertificateType:      jsii.String("CUSTOM"),
				CustomCertificateArn: jsii.String(d.CertARN),
			},
			EnableAutoSubDomain: jsii.Bool(false),
		})
		domain.AddDependency(b.amplifyBranch)
		b.webURL = jsii.String("https://" + d.DomainName)
	}
	if arn := b.cfg.GlobalWebACLARN; arn != "" {
		assoc := awswafv2.NewCfnWebACLAssociation(b.stack, jsii.String("WebAppFirewall"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: b.amplifyApp.AttrArn(),
			WebAclArn:   jsii.String(arn),
		})
		assoc.AddDependency(b.amplifyBranch)
	}
}
