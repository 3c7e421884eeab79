package station

import (
	"bytes"
	"image"
	"image/png"
)

func pngDecode(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
