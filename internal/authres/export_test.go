package authres

// For the tests of package authres_test (arc_test.go), which use package
// arc's sealer: package arc imports this one, so they cannot live inside.
var (
	ZoneResolver = zoneResolver
	KeyRecord    = keyRecord
)
