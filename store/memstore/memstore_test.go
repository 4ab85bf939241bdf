package memstore_test

import (
	"testing"

	"github.com/steward-xmpp/steward/store"
	"github.com/steward-xmpp/steward/store/memstore"
	"github.com/steward-xmpp/steward/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.All { return memstore.New() })
}
