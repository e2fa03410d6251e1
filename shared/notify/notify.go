// Package notify sends e-mail through Amazon SES (API v2). In the local
// stack the same client talks to an SES sink that writes .eml files.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/tre-egress/egress/shared/egress"
)

// SES is the part of the SES v2 client used here.
type SES interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Mailer sends e-mails from one verified address.
type Mailer struct {
	api              SES
	from             string
	configurationSet string
}

// NewMailer returns a Mailer. configurationSet may be empty.
func NewMailer(api SES, from, configurationSet string) *Mailer {
	return &Mailer{api: api, from: from, configurationSet: configurationSet}
}

// Send sends e. A message with no recipients is an error, so a missing
// address in the configuration is noticed rather than silently dropped.
func (m *Mailer) Send(ctx context.Context, e egress.Email) error {
	to, cc := addresses(e.To), addresses(e.Cc)
	if len(to) == 0 {
		return errors.New("send email: no recipients")
	}
	if m.from == "" {
		return errors.New("send email: no sender address configured")
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from),
		Destination:      &types.Destination{ToAddresses: to, CcAddresses: cc},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: aws.String("UTF-8")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String(e.Text), Charset: aws.String("UTF-8")}},
		}},
	}
	if m.configurationSet != "" {
		in.ConfigurationSetName = aws.String(m.configurationSet)
	}
	if _, err := m.api.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("send email %q: %w", e.Subject, err)
	}
	return nil
}

// addresses drops empty entries.
func addresses(in []string) []string {
	var out []string
	for _, a := range in {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
