package local

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// SNSTopic implements SNS Publish (query protocol) for one topic and
// delivers each message to the subscribed handler at once, in the
// caller's request, so a publisher knows the intake ran. Handler errors
// come back as 500s, as a failed delivery would be retried by SNS.
//
// Like SNS it refuses a message that, with its attributes, exceeds 256 KiB
// and a Subject that is empty, 100 characters or longer, or has line
// breaks or other control characters.
type SNSTopic struct {
	Arn     string
	Deliver func(ctx context.Context, ev events.SNSEvent) error
	Now     func() time.Time
	// Deliveries is how many times each message is delivered, all at once,
	// for tests of SNS's at-least-once delivery; 0 means 1. Every delivery
	// carries the same message ID, as SNS's retries do.
	Deliveries int
}

// SNS's limits on a published message.
const (
	snsMaxMessageBytes  = 256 * 1024 // message body plus attributes
	snsMaxSubjectLength = 99         // "less than 100 characters"
)

// ServeHTTP handles POST Action=Publish.
func (t *SNSTopic) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "Publish" {
		snsError(w, http.StatusBadRequest, "InvalidAction", "only Publish is implemented")
		return
	}
	topic := r.Form.Get("TopicArn")
	if topic != t.Arn {
		snsError(w, http.StatusNotFound, "NotFound", "topic does not exist: "+topic)
		return
	}
	msg := r.Form.Get("Message")
	if msg == "" {
		snsError(w, http.StatusBadRequest, "InvalidParameter", "Message is required")
		return
	}
	if len(msg)+messageAttributesSize(r.Form) > snsMaxMessageBytes {
		snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Message too long")
		return
	}
	subject := r.Form.Get("Subject")
	if _, given := r.Form["Subject"]; given && !validSubject(subject) {
		snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Subject")
		return
	}
	id := newID()
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{
		EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: t.Arn + ":local",
		SNS: events.SNSEntity{Type: "Notification", MessageID: id, TopicArn: t.Arn, Subject: subject,
			Message: msg, Timestamp: t.Now().UTC()},
	}}}
	if err := t.deliver(r.Context(), ev); err != nil {
		snsError(w, http.StatusInternalServerError, "InternalError", "delivery failed: "+err.Error())
		return
	}
	type result struct {
		XMLName   xml.Name `xml:"PublishResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		MessageID string   `xml:"PublishResult>MessageId"`
		RequestID string   `xml:"ResponseMetadata>RequestId"`
	}
	w.Header().Set("Content-Type", "text/xml")
	xml.NewEncoder(w).Encode(result{Xmlns: "http://sns.amazonaws.com/doc/2010-03-31/", MessageID: id, RequestID: newID()})
}

// SNSTopics serves Publish for several topics on one endpoint, as SNS
// does: each request goes to the topic its TopicArn names; an unknown
// topic is NotFound.
type SNSTopics []*SNSTopic

// ServeHTTP handles POST Action=Publish for any of the topics.
func (ts SNSTopics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "Publish" {
		snsError(w, http.StatusBadRequest, "InvalidAction", "only Publish is implemented")
		return
	}
	arn := r.Form.Get("TopicArn")
	for _, t := range ts {
		if t.Arn == arn {
			t.ServeHTTP(w, r)
			return
		}
	}
	snsError(w, http.StatusNotFound, "NotFound", "topic does not exist: "+arn)
}

func snsError(w http.ResponseWriter, status int, code, msg string) {
	type errResp struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Type    string   `xml:"Error>Type"`
		Code    string   `xml:"Error>Code"`
		Message string   `xml:"Error>Message"`
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	xml.NewEncoder(w).Encode(errResp{Type: "Sender", Code: code, Message: msg})
}

// deliver hands ev to the subscriber Deliveries times concurrently, each
// delivery with its own copy, and reports every failure.
func (t *SNSTopic) deliver(ctx context.Context, ev events.SNSEvent) error {
	n := max(t.Deliveries, 1)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A panicking subscriber is a failed invocation, as in Lambda,
			// not a crash of the whole stack.
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("the subscriber panicked: %v", r)
				}
			}()
			errs[i] = t.Deliver(ctx, events.SNSEvent{Records: slices.Clone(ev.Records)})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// validSubject applies SNS's rule: UTF-8 text with no line breaks or
// control characters, 1 to 99 characters long.
func validSubject(s string) bool {
	if !utf8.ValidString(s) || s == "" || utf8.RuneCountInString(s) > snsMaxSubjectLength {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// messageAttributesSize is what a Publish request's message attributes
// count towards the message size: each one's name, data type and value.
func messageAttributesSize(form url.Values) int {
	size := 0
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		if !form.Has(prefix + "Name") {
			return size
		}
		size += len(form.Get(prefix+"Name")) + len(form.Get(prefix+"Value.DataType")) +
			len(form.Get(prefix+"Value.StringValue"))
		if b64 := form.Get(prefix + "Value.BinaryValue"); b64 != "" {
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				size += len(b64)
			} else {
				size += len(raw)
			}
		}
	}
}
