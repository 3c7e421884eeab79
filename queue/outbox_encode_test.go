package queue

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

var encodeEventCases = []string{
	`{"order_id":"SO000001","ship_to":{"name":"Ada Lovelace","street1":"12 Rue de l'\u00c9glise"}}`,
	`[1,2.5e3,-0,"a\"b\\c",true,false,null,{}]`,
	`"just a string with  spaces"`,
	`{"nested":{"deep":[{"x":"<tag>&amp;"}]}}`,
	`12345`,
	"{ \"a\" :\n [ 1 , \"x\u2028y\" ] }",
}

// AppendEvent's compactData then encodeEvent store the bytes json.Marshal
// stored before, for any valid data (spaced, escaped, HTML characters).
func TestEncodeEventMatchesMarshal(t *testing.T) {
	t.Parallel()
	for _, data := range encodeEventCases {
		checkEncodeEvent(t, []byte(data))
	}
}

func FuzzEncodeEvent(f *testing.F) {
	for _, c := range encodeEventCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			t.Skip()
		}
		checkEncodeEvent(t, data)
	})
}

func checkEncodeEvent(t *testing.T, data []byte) {
	t.Helper()
	ev := Event{ID: 7, Type: "order.created", Time: time.Unix(1700000000, 5).UTC(), Key: "SO1", Data: data}
	want, err := json.Marshal(ev) // what was stored before encodeEvent
	if err != nil {
		t.Fatal(err)
	}
	if ev.Data, err = compactData(data); err != nil {
		t.Fatal(err)
	}
	got, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encodeEvent\n%s\nwant (json.Marshal)\n%s", got, want)
	}
}
