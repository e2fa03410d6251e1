package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEncode(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		dims    map[string]string
		ms      []Metric
		want    string
		wantErr string
	}{
		{
			name: "one metric, dimensions sorted after Stack",
			dims: map[string]string{"Status": "REJECTED", "Function": "notify"},
			ms:   []Metric{{Name: "Requests", Value: 1}},
			want: `{"Function":"notify","Requests":1,"Stack":"egress-dev","Status":"REJECTED","_aws":{"CloudWatchMetrics":[{"Namespace":"Egress","Dimensions":[["Stack","Function","Status"]],"Metrics":[{"Name":"Requests","Unit":"Count"}]}],"Timestamp":1796119200000}}` + "\n",
		},
		{
			name: "two metrics with units",
			ms:   []Metric{{Name: "ReleaseBytes", Unit: Bytes, Value: 2048}, {Name: "ReleaseSeconds", Unit: Seconds, Value: 1.5}},
			want: `{"ReleaseBytes":2048,"ReleaseSeconds":1.5,"Stack":"egress-dev","_aws":{"CloudWatchMetrics":[{"Namespace":"Egress","Dimensions":[["Stack"]],"Metrics":[{"Name":"ReleaseBytes","Unit":"Bytes"},{"Name":"ReleaseSeconds","Unit":"Seconds"}]}],"Timestamp":1796119200000}}` + "\n",
		},
		{name: "reserved dimension", dims: map[string]string{"Stack": "x"}, ms: []Metric{{Name: "A"}}, wantErr: "reserved"},
		{name: "metric named as a dimension", dims: map[string]string{"A": "x"}, ms: []Metric{{Name: "A"}}, wantErr: "both"},
		{name: "no name", ms: []Metric{{Value: 1}}, wantErr: "needs a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(at, "egress-dev", tt.dims, tt.ms...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRecorderWritesOneLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, "s")
	for range 3 {
		if err := r.Record(map[string]string{"Cause": "x"}, Metric{Name: "Failures", Value: 1}); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		if v["Failures"] != 1.0 || v["Cause"] != "x" {
			t.Errorf("record %s lacks its metric or dimension", l)
		}
	}
	var nilRecorder *Recorder
	if err := nilRecorder.Record(nil, Metric{Name: "A"}); err != nil {
		t.Errorf("a nil Recorder records nothing, got %v", err)
	}
}

func TestEncodeWithProperties(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	got, err := EncodeWith(at, "s", map[string]string{"egress_request_id": "r1"}, nil, Metric{Name: "Downloads", Value: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Downloads":1,"Stack":"s","_aws":{"CloudWatchMetrics":[{"Namespace":"Egress","Dimensions":[["Stack"]],"Metrics":[{"Name":"Downloads","Unit":"Count"}]}],"Timestamp":1796119200000},"egress_request_id":"r1"}` + "\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, props := range []map[string]string{{"Stack": "x"}, {"Downloads": "x"}, {"_aws": "x"}} {
		if _, err := EncodeWith(at, "s", props, nil, Metric{Name: "Downloads", Value: 1}); err == nil {
			t.Errorf("property %v accepted; it collides", props)
		}
	}
}
