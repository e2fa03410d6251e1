package statemachine

import "github.com/tre-egress/egress/shared/egress"

// DecisionOutput is what a waiting AwaitDecision task receives through
// SendTaskSuccess; CheckDecision reads $.decision.decision from it.
type DecisionOutput struct {
	Decision egress.Decision `json:"decision"`
	Stage    int             `json:"stage"`
}
