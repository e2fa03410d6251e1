package local

import (
	"context"
	"encoding/xml"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// SNSTopic implements SNS Publish (query protocol) for one topic and
// delivers each message to the subscribed handler at once, in the
// caller's request, so a publisher knows the intake ran. Handler errors
// come back as 500s, as a failed delivery would be retried by SNS.
type SNSTopic struct {
	Arn     string
	Deliver func(ctx context.Context, ev events.SNSEvent) error
	Now     func() time.Time
}

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
	id := newID()
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{
		EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: t.Arn + ":local",
		SNS: events.SNSEntity{Type: "Notification", MessageID: id, TopicArn: t.Arn, Subject: r.Form.Get("Subject"),
			Message: msg, Timestamp: t.Now().UTC()},
	}}}
	if err := t.Deliver(r.Context(), ev); err != nil {
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
