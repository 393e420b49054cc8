"""The browser client of SPEC §12: static HTML, CSS and JavaScript modules served at `/`."""
