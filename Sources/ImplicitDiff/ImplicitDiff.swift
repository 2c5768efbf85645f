// ImplicitDiff
