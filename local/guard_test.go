package local

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Every front endpoint refuses a forged Host (DNS rebinding) and a
// browser's cross-origin request, before its handler runs; the same
// requests from this machine's own clients are served.
func TestHostAndOriginGuard(t *testing.T) {
	s := stack(t, false)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "http://"))
	email := `{"FromEmailAddress":"a@example.org","Destination":{"ToAddresses":["b@example.org"]},"Content":{"Simple":{"Subject":{"Data":"forged"},"Body":{"Text":{"Data":"x"}}}}}`
	publish := url.Values{"Action": {"Publish"}, "TopicArn": {TopicArn}, "Message": {`{"id":"forged"}`}}.Encode()
	endpoints := []struct {
		name, method, path, contentType, target, body string
	}{
		{"endpoints", http.MethodGet, "/local/endpoints", "", "", ""},
		{"Step Functions", http.MethodPost, "/", "application/x-amz-json-1.0", "AWSStepFunctions.GetExecutionHistory",
			`{"executionArn":"` + s.ExecutionArn("no-such-request") + `"}`},
		{"SNS", http.MethodPost, "/", "application/x-www-form-urlencoded", "", publish},
		{"SES", http.MethodPost, "/v2/email/outbound-emails", "application/json", "", email},
		{"GraphQL", http.MethodPost, "/graphql", "text/plain", "", `{"query":"{ listRequests { task_token } }"}`},
		{"console sign-in", http.MethodPost, DevTokenPath, "application/json", "", `{"id":"tre-admin"}`},
		{"console", http.MethodGet, "/", "", "", ""},
	}
	host := "127.0.0.1:" + port
	cases := []struct {
		name    string
		host    string
		headers map[string]string
		refused bool
	}{
		{"own client", host, nil, false},
		{"localhost", "localhost:" + port, nil, false},
		{"IPv6 loopback", "[::1]:" + port, nil, false},
		{"same origin", host, map[string]string{"Origin": "http://" + host, "Sec-Fetch-Site": "same-origin"}, false},
		{"typed by the user", host, map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"rebound name", "evil.example:" + port, nil, true},
		{"rebound name, no port", "evil.example", nil, true},
		{"loopback name of another port", "127.0.0.1:1", nil, true},
		{"name ending in localhost", "localhost.evil.example:" + port, nil, true},
		{"other origin", host, map[string]string{"Origin": "http://evil.example"}, true},
		{"other port's origin", host, map[string]string{"Origin": "http://localhost:3000"}, true},
		{"opaque origin", host, map[string]string{"Origin": "null"}, true},
		{"cross-site fetch", host, map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"same-site fetch", host, map[string]string{"Sec-Fetch-Site": "same-site"}, true},
	}
	for _, ep := range endpoints {
		for _, c := range cases {
			t.Run(ep.name+"/"+c.name, func(t *testing.T) {
				sent := len(s.Outbox.Sent())
				body := ep.body
				if !c.refused && ep.name == "SES" {
					body = "{}" // refused by the sink itself, so nothing is sent
				}
				if !c.refused && ep.name == "SNS" {
					body = url.Values{"Action": {"ListTopics"}}.Encode()
				}
				req, err := http.NewRequest(ep.method, s.URL+ep.path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Host = c.host
				if ep.contentType != "" {
					req.Header.Set("Content-Type", ep.contentType)
				}
				if ep.target != "" {
					req.Header.Set("X-Amz-Target", ep.target)
				}
				for k, v := range c.headers {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if refused := resp.StatusCode == http.StatusForbidden; refused != c.refused {
					t.Fatalf("HTTP %d, want refused %v", resp.StatusCode, c.refused)
				}
				if n := len(s.Outbox.Sent()); n != sent {
					t.Fatalf("%d e-mails sent", n-sent)
				}
			})
		}
	}

	// The SDK's clients send neither Origin nor Sec-Fetch-Site.
	ses := sesv2.NewFromConfig(s.awsConfig(s.URL))
	if _, err := ses.SendEmail(context.Background(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(FromEmail),
		Destination:      &sestypes.Destination{ToAddresses: []string{"guard-test@example.org"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("guard test")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("x")}}}},
	}); err != nil {
		t.Fatalf("SES through the SDK: %v", err)
	}
}
