from django import forms

from library.models import Track


class UploadForm(forms.Form):
    file = forms.FileField(
        # ingest() words the "missing" and "empty" errors the same way the API does.
        required=False,
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*,.mp3,.wav,.flac,.ogg,.oga,.opus,.m4a,.aac"}),
    )
    title = forms.CharField(max_length=300, required=False)
    artist = forms.CharField(max_length=300, required=False)


class TrackEditForm(forms.ModelForm):
    class Meta:
        model = Track
        fields = ["title", "artist"]
