package stack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/cognito"
	"github.com/tre-egress/egress/shared/config"
)

// groupsAttribute is the user pool's custom attribute the pre-token
// trigger reads (custom:groups).
var groupsAttribute = strings.TrimPrefix(cognito.DefaultGroupsAttribute, "custom:")

// userIDAttribute holds a user's SWB user id (custom:swb_user_id), which
// tells the API a requester apart from a reviewer. Only administrators set
// it: no client may write it and no identity provider maps to it.
var userIDAttribute = strings.TrimPrefix(cognito.UserIDAttribute, "custom:")

// auth creates the reviewers' user pool: one group per reviewer role, the
// pre-token-generation trigger, the hosted UI domain, the optional SAML
// identity provider and the web app's client.
func (b *builder) auth() {
	cfg := b.cfg
	b.pool = awscognito.NewUserPool(b.stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email:    &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
			Fullname: &awscognito.StandardAttribute{Required: jsii.Bool(false), Mutable: jsii.Bool(true)},
		},
		// The identity provider's group list, which the pre-token trigger
		// turns into cognito:groups.
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			groupsAttribute: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MaxLen: jsii.Number(2048), Mutable: jsii.Bool(true)}),
			userIDAttribute: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MaxLen: jsii.Number(256), Mutable: jsii.Bool(true)}),
		},
		// A changed address counts only once verified: reviewers are
		// identified by their e-mail claim.
		KeepOriginal: &awscognito.KeepOriginalAttrs{Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:                          awscognito.Mfa_REQUIRED,
		MfaSecondFactor:              &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery:              awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:                  awscognito.FeaturePlan_PLUS, // Essentials or Plus: the trigger may change access tokens
		StandardThreatProtectionMode: awscognito.StandardThreatProtectionMode_FULL_FUNCTION,
		DeletionProtection:           jsii.Bool(true),
		RemovalPolicy:                awscdk.RemovalPolicy_RETAIN,
	})
	// The functions that e-mail a group's members look them up here.
	for _, fn := range functions.All() {
		if fn.Reads(config.EnvUserPoolID) {
			b.fns[fn.Name].fn.AddEnvironment(jsii.String(config.EnvUserPoolID), b.pool.UserPoolId(), nil)
		}
	}
	// Event version 2: the frontend sends the access token, which only a
	// version 2 trigger can give the e-mail and name decisions need.
	b.pool.AddTrigger(awscognito.UserPoolOperation_PRE_TOKEN_GENERATION_CONFIG(), b.fns["pre-token-generation"].fn, awscognito.LambdaVersion_V2_0)
	for i, g := range cfg.ReviewerRoles {
		awscognito.NewCfnUserPoolGroup(b.stack, jsii.String("ReviewerGroup"+strconv.Itoa(i)), &awscognito.CfnUserPoolGroupProps{
			UserPoolId:  b.pool.UserPoolId(),
			GroupName:   jsii.String(g),
			Description: jsii.String("Egress reviewers, approval stage " + strconv.Itoa(i+1)),
			Precedence:  jsii.Number(float64(i)),
		})
	}

	if cfg.ResearcherGroup != "" {
		awscognito.NewCfnUserPoolGroup(b.stack, jsii.String("ResearcherGroup"), &awscognito.CfnUserPoolGroupProps{
			UserPoolId:  b.pool.UserPoolId(),
			GroupName:   jsii.String(cfg.ResearcherGroup),
			Description: jsii.String("Researchers: read their own egress requests (matched by " + cognito.UserIDAttribute + ")"),
			Precedence:  jsii.Number(float64(len(cfg.ReviewerRoles))),
		})
	}

	if d := cfg.CustomDomain; d.Enabled {
		b.poolDomain = b.pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
			CustomDomain: &awscognito.CustomDomainOptions{
				DomainName:  jsii.String("auth." + d.DomainName),
				Certificate: awscertificatemanager.Certificate_FromCertificateArn(b.stack, jsii.String("AuthCertificate"), jsii.String(d.CertARN)),
			},
		})
		zone := awsroute53.HostedZone_FromHostedZoneAttributes(b.stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(d.HostedZoneID),
			ZoneName:     jsii.String(d.HostedZoneName),
		})
		awsroute53.NewARecord(b.stack, jsii.String("AuthRecord"), &awsroute53.ARecordProps{
			Zone:       zone,
			RecordName: jsii.String("auth." + d.DomainName + "."),
			Target:     awsroute53.RecordTarget_FromAlias(awsroute53targets.NewUserPoolDomainTarget(b.poolDomain)),
		})
	} else {
		b.poolDomain = b.pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
			CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(cfg.CognitoDomainPrefix())},
		})
	}

	// What the frontend's hosted-UI sign-in asks for: a scope the client
	// does not allow fails the sign-in.
	oauthScopes := []awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(),
		awscognito.OAuthScope_PROFILE(), awscognito.OAuthScope_COGNITO_ADMIN()}
	for _, s := range oauthScopes {
		b.webScopes = append(b.webScopes, *s.ScopeName())
	}
	providers := []awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()}
	// Users may change their display name only; the SWB user id is never
	// writable. The group attribute, which grants reviewer rights, is
	// writable only when a federated identity provider maps to it: Cognito
	// writes mapped attributes through the client and fails the sign-in
	// otherwise. Federated users cannot use that write themselves: the
	// pre-token trigger takes the self-service scope out of their access
	// tokens, and pool users' group attribute grants nothing.
	write := awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{Fullname: jsii.Bool(true)})
	var idp awscognito.UserPoolIdentityProviderSaml
	if p := cfg.CustomIDP; p.Enabled {
		idp = awscognito.NewUserPoolIdentityProviderSaml(b.stack, jsii.String("SamlProvider"), &awscognito.UserPoolIdentityProviderSamlProps{
			UserPool: b.pool,
			Name:     jsii.String(p.Name),
			Metadata: awscognito.UserPoolIdentityProviderSamlMetadata_Url(jsii.String(p.MetadataURL)),
			AttributeMapping: &awscognito.AttributeMapping{
				Email:    awscognito.ProviderAttribute_Other(jsii.String("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")),
				Fullname: awscognito.ProviderAttribute_Other(jsii.String("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")),
				Custom: &map[string]awscognito.ProviderAttribute{
					cognito.DefaultGroupsAttribute: awscognito.ProviderAttribute_Other(jsii.String(p.GroupsAttribute)),
				},
			},
		})
		providers = append(providers, awscognito.UserPoolClientIdentityProvider_Custom(jsii.String(p.Name)))
		// Federation writes the mapped attributes through the client.
		write = write.WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), Fullname: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String(groupsAttribute))
	}
	webURLs := b.webURLs()
	b.poolClient = b.pool.AddClient(jsii.String("WebClient"), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(12)),
		SupportedIdentityProviders: &providers,
		WriteAttributes:            write,
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &oauthScopes,
			CallbackUrls: &webURLs,
			LogoutUrls:   &webURLs,
		},
	})
	// egressctl's client: public (no secret), the code grant with PKCE on a
	// loopback redirect, the scopes the API needs and not the self-service
	// one. Same identity providers and writable attributes as the web
	// client, so a federated sign-in works through it too. The refresh
	// token lives Cognito's shortest hour: egressctl never keeps it.
	cliScopes := make([]awscognito.OAuthScope, 0, len(cognito.CLIScopes))
	for _, s := range cognito.CLIScopes {
		cliScopes = append(cliScopes, awscognito.OAuthScope_Custom(jsii.String(s)))
	}
	b.cliClient = b.pool.AddClient(jsii.String("CliClient"), &awscognito.UserPoolClientOptions{
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(1)),
		SupportedIdentityProviders: &providers,
		WriteAttributes:            write,
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &cliScopes,
			CallbackUrls: &[]*string{jsii.String(CLICallbackURL)},
			LogoutUrls:   &[]*string{jsii.String(CLICallbackURL)},
		},
	})
	if idp != nil {
		b.poolClient.Node().AddDependency(idp)
		b.cliClient.Node().AddDependency(idp)
	}
	if arn := cfg.RegionalWebACLARN; arn != "" {
		awswafv2.NewCfnWebACLAssociation(b.stack, jsii.String("UserPoolFirewall"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: b.pool.UserPoolArn(),
			WebAclArn:   jsii.String(arn),
		})
	}
}

// CLICallbackURL is egressctl's sign-in redirect, registered on its client.
var CLICallbackURL = fmt.Sprintf("http://localhost:%d/callback", cognito.CLICallbackPort)
