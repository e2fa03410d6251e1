package withs3

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/tre-egress/egress/functions"
	"github.com/tre-egress/egress/shared/app"
	"github.com/tre-egress/egress/shared/checks"
	"github.com/tre-egress/egress/shared/clamd"
	"github.com/tre-egress/egress/shared/config"
	"github.com/tre-egress/egress/shared/egress"
	"github.com/tre-egress/egress/shared/guardduty"
	"github.com/tre-egress/egress/shared/objects"
	"github.com/tre-egress/egress/shared/workflow"
)

// WithChecks is the S3 plug-in of the check-files function: the objects
// adapter and the automated checks over the same client, with the malware
// engine cfg.Checks names. Only check-files links the checks.
var WithChecks = app.Plugin{
	Service: functions.S3,
	Wire: func(awsCfg aws.Config, cfg config.Config, h *workflow.Handlers) {
		c := objects.NewS3(awsCfg, cfg.S3PathStyle)
		Adapters(h, cfg, c)
		ch, err := NewChecker(cfg.Checks, c)
		if err != nil {
			// Settings were validated as they were read: this is a bug.
			panic(fmt.Sprintf("check-files: %v", err))
		}
		h.Checks = ch
	},
}

// NewChecker builds the automated checks with the malware engine s names:
// GuardDuty's tags read through c, clamd at its address, or none.
func NewChecker(s egress.CheckSettings, c *s3.Client) (*checks.Checker, error) {
	s = s.WithDefaults()
	var sc checks.Scanner
	switch s.Malware.Engine {
	case egress.EngineGuardDuty:
		sc = guardduty.Scanner{S3: c}
	case egress.EngineClamAV:
		sc = &clamd.Scanner{Address: s.Malware.ClamdAddress, MaxBytes: s.Malware.MaxScanBytes}
	}
	return checks.New(s, sc, objects.New(c))
}
