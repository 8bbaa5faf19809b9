"""dealdesk: opportunities, project quotes and closing deals as Won or Lost."""
