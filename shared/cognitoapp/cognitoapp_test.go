package cognitoapp

import (
	"slices"
	"testing"

	"github.com/tre-egress/egress/shared/config"
)

func TestTrigger(t *testing.T) {
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{config.EnvReviewerGroups: "DataManager, ResearchIT"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := Trigger(cfg).Groups; !slices.Equal(got, []string{"DataManager", "ResearchIT"}) {
		t.Fatalf("groups %v", got)
	}
}
