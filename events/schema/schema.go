// Package schema holds the JSON Schema (draft 2020-12) of the events the
// stack publishes on its EventBridge bus, egress-status-change.schema.json,
// for consumers and tests to validate events against (README, "Events").
package schema

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// File is the schema's path in the repository.
const File = "events/schema/egress-status-change.schema.json"

// JSON is the schema.
//
//go:embed egress-status-change.schema.json
var JSON []byte

// Compile returns the schema, compiled to validate decoded JSON values
// (jsonschema.UnmarshalJSON keeps numbers exact).
func Compile() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "egress-status-change.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", File, err)
	}
	return s, nil
}

// Validate checks one event, as JSON text, against the schema.
func Validate(s *jsonschema.Schema, event []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	return s.Validate(v)
}
