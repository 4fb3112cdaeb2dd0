package simulator

import "net/http"

// AdminHandler serves the simulator's admin API under /admin/.
// Placeholder until fault injection lands.
func AdminHandler() http.Handler {
	return http.NotFoundHandler()
}
