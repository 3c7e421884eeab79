package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/packbench/packbench/queue"
)

// testPrint queues a small test label for one printer: it proves the link,
// the media and the head without an order. The job goes through the queue
// like any other, so a printer that is out of paper holds it and prints it
// when the paper is back.
func (s *Server) testPrint(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	known := false
	for _, p := range s.printers() {
		if p.Name == name {
			known = true
			break
		}
	}
	if !known {
		return errorf(http.StatusNotFound, CodeNotFound, "no printer named %q", name)
	}
	now := s.opt.Now().UTC()
	job, _, err := s.deps.Queue.Enqueue(r.Context(), queue.NewJob{
		Key:         fmt.Sprintf("test-print-%s-%d", name, now.UnixNano()),
		Source:      queue.SourceHTTP,
		Printer:     name,
		ContentType: queue.ContentZPL,
		Payload:     testLabel(name, s.deps.Version, now),
		Ref:         "test print",
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, job)
	return nil
}

// testLabel is the test label's ZPL. The printer name and version come from
// the configuration, not from a request, but they are still reduced to
// plain characters so no text can become a printer command.
func testLabel(printer, version string, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("^XA^CI28\n")
	b.WriteString("^FO40,60^A0N,64,64^FDPACKBENCH TEST PRINT^FS\n")
	fmt.Fprintf(&b, "^FO40,160^A0N,40,40^FDPrinter: %s^FS\n", plainText(printer))
	fmt.Fprintf(&b, "^FO40,220^A0N,40,40^FDVersion: %s^FS\n", plainText(version))
	fmt.Fprintf(&b, "^FO40,280^A0N,40,40^FD%s^FS\n", now.Format("2006-01-02 15:04:05 UTC"))
	b.WriteString("^FO40,350^GB720,4,4^FS\n")
	b.WriteString("^FO40,390^BY3^BCN,120,Y,N,N^FD0123456789^FS\n")
	b.WriteString("^XZ\n")
	return []byte(b.String())
}

// plainText keeps letters, digits and a few punctuation marks; anything
// else (^, ~ and control characters above all) becomes '?'.
func plainText(s string) string {
	if s == "" {
		return "-"
	}
	out := []rune(s)
	for i, c := range out {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" .,:;/+-_()#", c)
		if !ok {
			out[i] = '?'
		}
	}
	if len(out) > 40 {
		out = out[:40]
	}
	return string(out)
}
