from django.urls import path

from feed import views

app_name = "feed"
urlpatterns = [
    path("", views.home, name="home"),
    path("feed/page", views.feed_page, name="page"),
    path("interactions", views.interaction_create, name="interact"),
    path("onboarding", views.onboarding, name="onboarding"),
    path("taste", views.taste, name="taste"),
    path("signup", views.signup, name="signup"),
    path("make", views.render_request, name="make"),
    path("renders/<int:job_id>", views.render_status, name="render"),
]
