"""Invitations and RSVP (SPEC §13): attendees, their answers, per occurrence too."""
