package stack

import (
	"reflect"
	"slices"
	"testing"
)

// The notices topic is encrypted, takes SSL only, is delivered to notify
// alone, and egress-api may publish on it and on no reviewer topic.
func TestNoticesTopic(t *testing.T) {
	s := synth(t)
	for _, stackName := range []string{sampleStack, fullStack} {
		tmpl := s.templates[stackName]
		topicID, topic := byPath(t, tmpl, stackName, "NoticesTopic/Resource")
		keyID, _ := byPath(t, tmpl, stackName, "StateKey/Resource")
		if !reflect.DeepEqual(props(topic)["KmsMasterKeyId"], getAtt(keyID, "Arn")) {
			t.Errorf("%s: notices topic key %s", stackName, jsonString(props(topic)["KmsMasterKeyId"]))
		}
		notifyID, _ := byPath(t, tmpl, stackName, mustLookup(t, "notify").ID+"/Resource")
		var endpoints []any
		for _, sub := range resources(tmpl, "AWS::SNS::Subscription") {
			if p := props(sub); reflect.DeepEqual(p["TopicArn"], map[string]any{"Ref": topicID}) {
				if p["Protocol"] != "lambda" {
					t.Errorf("%s: notices subscription protocol %v", stackName, p["Protocol"])
				}
				endpoints = append(endpoints, p["Endpoint"])
			}
		}
		if !reflect.DeepEqual(endpoints, []any{getAtt(notifyID, "Arn")}) {
			t.Errorf("%s: notices topic delivers to %s, want notify only", stackName, jsonString(endpoints))
		}
		var published []string
		for _, st := range functionStatements(t, tmpl, stackName, "egress-api") {
			if slices.Contains(actions(st), "sns:Publish") {
				for _, r := range resourceList(st) {
					published = append(published, render(r))
				}
			}
		}
		if want := []string{"<" + topicID + ">"}; !slices.Equal(published, want) {
			t.Errorf("%s: egress-api may publish on %v, want %v", stackName, published, want)
		}
	}
}
