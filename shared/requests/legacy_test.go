package requests

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tre-egress/egress/shared/egress"
)

// TestReviewsWithoutStageIndex: a review stored before stages could have
// two votes has no stage_index and decodes with its position as its
// stage; one stored with it (0 included) keeps it.
func TestReviewsWithoutStageIndex(t *testing.T) {
	ctx := context.Background()
	s, _ := newRequests(t)
	review := func(i int, stage string) egress.Review {
		return egress.Review{StageIndex: i, Stage: stage, Email: stage + "@example.org", At: ms("2026-11-20T10:00:00.000Z"), Decision: egress.Approved}
	}
	tests := []struct {
		name    string
		reviews []egress.Review
		strip   []bool // which reviews are stored without stage_index
		want    []int
	}{
		{"legacy two-stage", []egress.Review{review(0, "IG"), review(1, "RIT")}, []bool{true, true}, []int{0, 1}},
		{"a blinded stage keeps its indexes", []egress.Review{review(0, "IG"), review(0, "IG"), review(1, "RIT")}, []bool{false, false, false}, []int{0, 0, 1}},
		{"a legacy vote, then one with an index", []egress.Review{review(0, "IG"), review(1, "RIT")}, []bool{true, false}, []int{0, 1}},
		{"a stored zero is not a position", []egress.Review{review(0, "IG"), review(0, "IG")}, []bool{false, false}, []int{0, 0}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := minimalRequest("req-legacy-"+string(rune('a'+i)), ms("2026-11-20T09:00:00.000Z"))
			r.Reviews, r.Version = tt.reviews, 1
			item, err := Item(r)
			if err != nil {
				t.Fatal(err)
			}
			stored := item["reviews"].(*types.AttributeValueMemberL).Value
			for k, strip := range tt.strip {
				m := stored[k].(*types.AttributeValueMemberM).Value
				if _, ok := m["stage_index"]; !ok {
					t.Fatalf("reviews[%d] stored without stage_index already: the test no longer tests legacy items", k)
				}
				if strip {
					delete(m, "stage_index")
				}
			}
			if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			var idx []int
			for _, v := range got.Reviews {
				idx = append(idx, v.StageIndex)
			}
			if !slices.Equal(idx, tt.want) {
				t.Fatalf("stage indexes %v, want %v", idx, tt.want)
			}
			// Stored again, every review carries its index.
			again, err := s.Update(ctx, got, egress.Event{RequestID: r.ID, At: ms("2026-11-20T11:00:00.000Z"), Kind: egress.EventTransition, Actor: egress.ActorWorkflow})
			if err != nil {
				t.Fatal(err)
			}
			if again, err = s.Get(ctx, again.ID); err != nil || len(again.Reviews) != len(tt.want) {
				t.Fatalf("after Update: %+v %v", again.Reviews, err)
			}
			for k, v := range again.Reviews {
				if v.StageIndex != tt.want[k] {
					t.Fatalf("after Update reviews[%d] stage %d, want %d", k, v.StageIndex, tt.want[k])
				}
			}
		})
	}
}
