package api

import (
	"bytes"
	"image/png"
	"net/http"
	"strconv"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// commandList is the answer of GET /api/v1/commands.
type commandList struct {
	// Commands are the command barcodes that are on, in sheet order.
	Commands []station.Command `json:"commands"`
}

// sheetBody is the optional body of POST /api/v1/commands/sheet/print.
type sheetBody struct {
	// Printer to print on; empty means the flow's printer.
	Printer string `json:"printer"`
}

// Barcode image size: 3 pixels a module prints and scans well off paper
// and screen alike.
const (
	barcodeModule = 3
	barcodeHeight = 90
)

func (s *Server) listCommands(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	cmds := st.Commands()
	if cmds == nil {
		cmds = []station.Command{}
	}
	writeJSON(w, http.StatusOK, commandList{Commands: cmds})
	return nil
}

// commandBarcode is one command's Code 128 barcode as a PNG, for the
// sheet the admin page prints.
func (s *Server) commandBarcode(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	name, err := pathID(r, "name")
	if err != nil {
		return err
	}
	for _, c := range st.Commands() {
		if c.Name != name {
			continue
		}
		bc, err := code128.Encode(c.Code)
		if err != nil {
			return errorf(http.StatusInternalServerError, CodeInternal, "command %s: barcode: %v", name, err)
		}
		img, err := barcode.Scale(bc, bc.Bounds().Dx()*barcodeModule, barcodeHeight)
		if err != nil {
			return errorf(http.StatusInternalServerError, CodeInternal, "command %s: barcode: %v", name, err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return errorf(http.StatusInternalServerError, CodeInternal, "command %s: png: %v", name, err)
		}
		h := w.Header()
		h.Set("Content-Type", "image/png")
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
		return nil
	}
	return errorf(http.StatusNotFound, CodeNotFound, "no command barcode named %q (see GET /api/v1/commands)", name)
}

// printCommandSheet queues the command barcodes as a label.
func (s *Server) printCommandSheet(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req sheetBody
	if err := s.decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	job, err := st.PrintCommandSheet(r.Context(), req.Printer, queue.SourceHTTP)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, job)
	return nil
}
