package stack

import (
	"strings"

	"github.com/tre-egress/egress/web"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsamplify"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
)

// WebBranch is the Amplify Hosting branch that serves the original
// frontend, and the console with web_console "instead".
const WebBranch = "main"

// ConsoleBranch is the Amplify Hosting branch that serves the reviewer
// console with web_console "beside"; its URL is https://console.<app
// domain>, or https://console.<custom domain>.
const ConsoleBranch = "console"

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

// contentSecurityPolicy is web.ContentSecurityPolicy, shared with the
// local stack: the console and the original frontend run only their own
// scripts and call only what an app signed in through Cognito calls: this
// deployment's AppSync endpoint, the user pool's API, the hosted UI's token
// endpoint and the datalake bucket its download links point at (opening a
// link is a navigation, which the policy leaves alone; fetching it is not).
// The schema has no subscriptions, so no AppSync real-time WebSocket. With
// the console deployed, images may also come from the staging bucket: its
// previews of staged images are presigned GETs, which the functions'
// S3 client (objects.NewS3, not path-style in AWS) signs for the bucket's
// virtual-hosted, regional host, in us-east-1 too. The apps must be built
// without inline scripts (the original, Create React App:
// INLINE_RUNTIME_CHUNK=false); inline styles are allowed, as UI libraries
// inject them.
func (b *builder) contentSecurityPolicy() string {
	hostedUI := b.cfg.CognitoDomainPrefix() + ".auth." + b.region() + ".amazoncognito.com"
	if d := b.cfg.CustomDomain; d.Enabled {
		hostedUI = "auth." + d.DomainName
	}
	datalake := bucketName(b.cfg.DatalakeBucketARN) + ".s3." + arnRegion(b.cfg.DatalakeKeyARN) + ".amazonaws.com"
	p := web.Policy{Connect: []string{*b.graphql.GraphqlUrl(), "https://cognito-idp." + b.region() + ".amazonaws.com",
		"https://" + hostedUI, "https://" + datalake}}
	if b.cfg.WebConsole != ConsoleOff {
		p.Images = []string{"https://" + *b.staging.BucketName() + ".s3." + b.region() + ".amazonaws.com"}
	}
	return web.ContentSecurityPolicy(p)
}

// webHeaders sets the web app's headers once the API they name exists.
func (b *builder) webHeaders() {
	b.amplifyApp.SetCustomHeaders(jsii.String(securityHeaders(b.contentSecurityPolicy())))
}

// web creates the Amplify Hosting app, the original frontend's branch and,
// with web_console "beside", the console's branch beside it. One app, so
// both get the same headers and firewall. Branches are deployed from zips
// (make deploy publishes the console; the original frontend: see
// infra/README.md), so no repository connection or token is needed.
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
	branch := func(id, name, description string) awsamplify.CfnBranch {
		return awsamplify.NewCfnBranch(b.stack, jsii.String(id), &awsamplify.CfnBranchProps{
			AppId:           b.amplifyApp.AttrAppId(),
			BranchName:      jsii.String(name),
			Description:     jsii.String(description),
			Stage:           jsii.String("PRODUCTION"),
			EnableAutoBuild: jsii.Bool(false),
		})
	}
	mainDescription := "The original frontend"
	if b.cfg.WebConsole == ConsoleInstead {
		mainDescription = "The reviewer console (web_console instead)"
	}
	b.amplifyBranch = branch("WebBranch", WebBranch, mainDescription)
	b.webURL = jsii.String("https://" + WebBranch + "." + *b.amplifyApp.AttrDefaultDomain())
	switch b.cfg.WebConsole {
	case ConsoleBeside:
		b.consoleBranch = branch("ConsoleBranch", ConsoleBranch, "The reviewer console (web_console beside)")
		b.consoleURL = jsii.String("https://" + ConsoleBranch + "." + *b.amplifyApp.AttrDefaultDomain())
	case ConsoleInstead:
		b.consoleBranch, b.consoleURL = b.amplifyBranch, b.webURL
	}

	if d := b.cfg.CustomDomain; d.Enabled {
		// The original frontend at domain_name, the console beside it at
		// console.<domain_name> (the certificate must name it, as it
		// names auth.<domain_name> for the hosted UI).
		prefix := strings.TrimSuffix(d.DomainName, "."+d.HostedZoneName)
		subdomains := []any{&awsamplify.CfnDomain_SubDomainSettingProperty{BranchName: b.amplifyBranch.BranchName(), Prefix: jsii.String(prefix)}}
		if b.cfg.WebConsole == ConsoleBeside {
			subdomains = append(subdomains, &awsamplify.CfnDomain_SubDomainSettingProperty{
				BranchName: b.consoleBranch.BranchName(), Prefix: jsii.String(ConsoleBranch + "." + prefix)})
		}
		domain := awsamplify.NewCfnDomain(b.stack, jsii.String("WebDomain"), &awsamplify.CfnDomainProps{
			AppId:             b.amplifyApp.AttrAppId(),
			DomainName:        jsii.String(d.HostedZoneName),
			SubDomainSettings: &subdomains,
			CertificateSettings: &awsamplify.CfnDomain_CertificateSettingsProperty{
				CertificateType:      jsii.String("CUSTOM"),
				CustomCertificateArn: jsii.String(d.CertARN),
			},
			EnableAutoSubDomain: jsii.Bool(false),
		})
		domain.AddDependency(b.amplifyBranch)
		b.webURL = jsii.String("https://" + d.DomainName)
		switch b.cfg.WebConsole {
		case ConsoleBeside:
			domain.AddDependency(b.consoleBranch)
			b.consoleURL = jsii.String("https://" + ConsoleBranch + "." + d.DomainName)
		case ConsoleInstead:
			b.consoleURL = b.webURL
		}
	}
	if arn := b.cfg.GlobalWebACLARN; arn != "" {
		assoc := awswafv2.NewCfnWebACLAssociation(b.stack, jsii.String("WebAppFirewall"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: b.amplifyApp.AttrArn(),
			WebAclArn:   jsii.String(arn),
		})
		assoc.AddDependency(b.amplifyBranch)
		if b.consoleBranch != nil && b.consoleBranch != b.amplifyBranch {
			assoc.AddDependency(b.consoleBranch)
		}
	}
}

// webURLs are the apps' URLs: the original frontend's and the console's
// when it has its own. The web client redirects to them after sign-in and
// sign-out.
func (b *builder) webURLs() []*string {
	urls := []*string{b.webURL}
	if b.consoleURL != nil && b.consoleURL != b.webURL {
		urls = append(urls, b.consoleURL)
	}
	return urls
}

// linkURL is where e-mails' links (<url>/#<request id>) point: the console
// when it is deployed, beside or instead (make deploy always publishes it,
// while the original frontend is published by hand), else the original.
func (b *builder) linkURL() *string {
	if b.consoleURL != nil {
		return b.consoleURL
	}
	return b.webURL
}
