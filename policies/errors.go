package policies

import (
	"errors"
	"fmt"
)

// KeyError is a config problem at one key. Path is relative to where the
// error was made and is prefixed by each enclosing level, so that the user
// sees "rooms[2].policies.vetting.hours: …".
type KeyError struct {
	Path string
	Msg  string
}

func (e *KeyError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// KeyErrorf returns a *KeyError for key.
func KeyErrorf(key, format string, args ...any) error {
	return &KeyError{Path: key, Msg: fmt.Sprintf(format, args...)}
}

// PrefixKeys puts prefix in front of the path of every KeyError in err (which
// may be an errors.Join tree) and turns other errors into KeyErrors at prefix.
func PrefixKeys(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, e := range Flatten(err) {
		var ke *KeyError
		if errors.As(e, &ke) {
			p := prefix
			if ke.Path != "" {
				if ke.Path[0] == '[' {
					p += ke.Path
				} else {
					p += "." + ke.Path
				}
			}
			out = append(out, &KeyError{Path: p, Msg: ke.Msg})
			continue
		}
		out = append(out, &KeyError{Path: prefix, Msg: e.Error()})
	}
	return errors.Join(out...)
}

// Flatten lists the leaves of an errors.Join tree.
func Flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Flatten(e)...)
		}
		return out
	}
	return []error{err}
}
