package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Mail is one message the SES sink received.
type Mail struct {
	ID      string   `json:"id"`
	From    string   `json:"from"`
	To      []string `json:"to"`
	Cc      []string `json:"cc,omitempty"`
	Bcc     []string `json:"bcc,omitempty"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	File    string   `json:"file"` // the .eml written to the outbox
}

// Recipients are everyone the message goes to: To, Cc and Bcc.
func (m Mail) Recipients() []string { return slices.Concat(m.To, m.Cc, m.Bcc) }

// SESSink implements SES v2 SendEmail (simple content) by writing each
// message as an .eml file a person can open, and remembering it. It is
// also the outbox of the reviewer topics (Notify).
type SESSink struct {
	dir string
	now func() time.Time

	mu      sync.Mutex
	sent    []Mail
	notices []Notice
}

// NewSESSink writes into dir, creating it.
func NewSESSink(dir string, now func() time.Time) (*SESSink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ses outbox %s: %w", dir, err)
	}
	return &SESSink{dir: dir, now: now}, nil
}

// Sent returns every message received so far.
func (s *SESSink) Sent() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.sent...)
}

type sendEmailInput struct {
	FromEmailAddress string
	Destination      struct{ ToAddresses, CcAddresses, BccAddresses []string }
	Content          struct {
		Simple *struct {
			Subject struct{ Data string }
			Body    struct {
				Text *struct{ Data string }
				Html *struct{ Data string }
			}
		}
	}
}

// ServeHTTP handles POST /v2/email/outbound-emails.
func (s *SESSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		writeJSONError(w, http.StatusNotFound, "NotFoundException", "only SendEmail is implemented")
		return
	}
	var in sendEmailInput
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSONError(w, http.StatusBadRequest, "BadRequestException", "body: "+err.Error())
		return
	}
	if in.Content.Simple == nil {
		writeJSONError(w, http.StatusBadRequest, "BadRequestException", "only Simple content is supported")
		return
	}
	d := in.Destination
	m := Mail{ID: newID(), From: in.FromEmailAddress, To: d.ToAddresses, Cc: d.CcAddresses, Bcc: d.BccAddresses, Subject: in.Content.Simple.Subject.Data}
	if len(m.Recipients()) == 0 || in.FromEmailAddress == "" {
		writeJSONError(w, http.StatusBadRequest, "BadRequestException", "FromEmailAddress and a destination are required")
		return
	}
	if t := in.Content.Simple.Body.Text; t != nil {
		m.Text = t.Data
	} else if h := in.Content.Simple.Body.Html; h != nil {
		m.Text = h.Data
	}
	now := s.now()
	m.File = filepath.Join(s.dir, fmt.Sprintf("%s-%s.eml", now.UTC().Format("20060102T150405.000"), m.ID))
	if err := os.WriteFile(m.File, eml(m, now), 0o644); err != nil {
		writeJSONError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"MessageId": m.ID})
}

// eml renders an RFC 5322 message with a quoted-printable UTF-8 body.
// Bcc recipients are not shown, as a mail server would not show them.
func eml(m Mail, now time.Time) []byte {
	var b bytes.Buffer
	to := strings.Join(m.To, ", ")
	if to == "" {
		to = "undisclosed-recipients:;"
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", m.From, to)
	if len(m.Cc) > 0 {
		fmt.Fprintf(&b, "Cc: %s\r\n", strings.Join(m.Cc, ", "))
	}
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMessage-ID: <%s@egress.local>\r\n",
		mime.QEncoding.Encode("utf-8", m.Subject), now.Format(time.RFC1123Z), m.ID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// Notice is one message published on a reviewer topic, as the topic's
// e-mail subscribers receive it.
type Notice struct {
	ID      string `json:"id"`
	Topic   string `json:"topic"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	File    string `json:"file"` // the .eml written to the outbox
}

// Notices returns every message published on a reviewer topic so far.
func (s *SESSink) Notices() []Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notice(nil), s.notices...)
}

// snsSender is who SNS e-mail notifications come from.
const snsSender = "AWS Notifications <no-reply@sns.amazonaws.com>"

// Notify is the subscriber of the reviewer topics: each message lands in
// the outbox as the .eml its e-mail subscribers would get (the topic's
// subscribers are managed by admins in AWS; locally there are none, so it
// is addressed to no one and names its topic).
func (s *SESSink) Notify(_ context.Context, ev events.SNSEvent) error {
	for _, rec := range ev.Records {
		n := Notice{ID: rec.SNS.MessageID, Topic: rec.SNS.TopicArn, Subject: rec.SNS.Subject, Text: rec.SNS.Message}
		now := s.now()
		n.File = filepath.Join(s.dir, fmt.Sprintf("%s-sns-%s.eml", now.UTC().Format("20060102T150405.000"), n.ID))
		body := eml(Mail{ID: n.ID, From: snsSender, Subject: n.Subject, Text: n.Text}, now)
		// The topic goes in a header of its own, after the envelope.
		body = bytes.Replace(body, []byte("MIME-Version:"), []byte("X-SNS-Topic-Arn: "+n.Topic+"\r\nMIME-Version:"), 1)
		if err := os.WriteFile(n.File, body, 0o644); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		s.mu.Lock()
		s.notices = append(s.notices, n)
		s.mu.Unlock()
	}
	return nil
}
