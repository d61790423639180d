package chartsource

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// TestCountingReader: every read is reported with the size the server announced, and
// the end of a download whose size was not announced reports done of done, so the
// reader of the progress knows it is complete.
func TestCountingReader(t *testing.T) {
	tests := []struct {
		name  string
		total int64
		want  [][2]int64
	}{
		{"size announced", 10, [][2]int64{{4, 10}, {8, 10}, {10, 10}, {10, 10}}},
		{"size not announced", -1, [][2]int64{{4, -1}, {8, -1}, {10, -1}, {10, 10}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][2]int64
			r := &countingReader{r: iotest.HalfReader(strings.NewReader("0123456789")), total: tt.total,
				p: func(done, total int64) { got = append(got, [2]int64{done, total}) }}
			buf := make([]byte, 8)
			for {
				if _, err := r.Read(buf); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("reports %v, want %v", got, tt.want)
			}
		})
	}
}
