"""Seeding of Gadget worlds in MongoDB, and their cleanup."""
