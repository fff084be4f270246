"""The best policy leaves the sweep: its model card and the push to the Hugging Face Hub."""
