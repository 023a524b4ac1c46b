from django.urls import path

from pulse import views

app_name = "pulse"

urlpatterns = [
    path("", views.take, name="take"),
    path("results/", views.results, name="results"),
    path("stores/<str:code>/", views.store, name="store"),
]
