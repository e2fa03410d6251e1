package api

// Limits on one GraphQL request. AppSync enforces them (the stack sets them
// as the API's QueryDepthLimit and ResolverCountLimit); the local executor
// (local/appsync)
// enforces the same values.
const (
	// MaxQueryDepth is the deepest selection accepted, counting the root
	// field as level 1. The schema has no cycles, and its deepest selection
	// is 5 levels (requests → items → files → findings → check, and the
	// like; TestLimitsFitTheSchema);
	// the frontend's operations go 2 deep. 6 leaves room for a counting that
	// also includes the operation itself, and still refuses anything a
	// future cyclic type could be abused for.
	MaxQueryDepth = 6

	// MaxResolverCount is the most resolver invocations accepted in one
	// request: one per root field, plus one per Request for each of its
	// seven nested resolvers (files, filePage, history, reviews,
	// previous_request, changes, checks) selected. It admits a default page
	// of requests (DefaultPageLimit) with all seven;
	// the frontend's operations invoke one resolver each. A bigger page with
	// those fields is refused whole, so a client asks for smaller pages.
	MaxResolverCount = 1 + 7*DefaultPageLimit
)
