package notify

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/tre-egress/egress/shared/egress"
)

type recordingSES struct{ in []*sesv2.SendEmailInput }

func (r *recordingSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	r.in = append(r.in, in)
	return &sesv2.SendEmailOutput{}, nil
}

func TestSendAddresses(t *testing.T) {
	tests := []struct {
		name    string
		e       egress.Email
		to, cc  []string
		wantErr bool
	}{
		{"to and cc", egress.Email{To: []string{" a@example.org "}, Cc: []string{"b@example.org", ""}}, []string{"a@example.org"}, []string{"b@example.org"}, false},
		{"to only", egress.Email{To: []string{"a@example.org"}}, []string{"a@example.org"}, nil, false},
		{"cc without to", egress.Email{To: []string{" "}, Cc: []string{"b@example.org"}}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &recordingSES{}
			err := NewMailer(api, "egress@example.org", "").Send(context.Background(), tt.e)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if len(api.in) != 0 {
					t.Fatal("sent despite the error")
				}
				return
			}
			d := api.in[0].Destination
			if !slices.Equal(d.ToAddresses, tt.to) || !slices.Equal(d.CcAddresses, tt.cc) {
				t.Fatalf("to %v cc %v, want %v %v", d.ToAddresses, d.CcAddresses, tt.to, tt.cc)
			}
		})
	}
}
