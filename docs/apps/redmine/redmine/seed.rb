# Seed data of the suite's Redmine, run once at build time by `rails runner` (after redmine:load_default_data):
# the admin's password, a public project and issues with non-ASCII subjects in several statuses.
admin = User.find_by_login!('admin')
admin.password = admin.password_confirmation = ENV.fetch('REDMINE_ADMIN_PASSWORD')
admin.must_change_passwd = false
admin.save!
Setting.rest_api_enabled = '1'
Setting.attachment_max_size = 10_240 # KB
Setting.autologin = '7' # "Stay logged in" for 7 days: a second cookie at login
project = Project.create!(name: 'Lambda Projekt ✓', identifier: 'lambda', is_public: true,
                          enabled_module_names: %w[issue_tracking files wiki])
project.trackers = Tracker.all
project.save!
[
  ['Grüße aus München', 'New', 'Bug'],
  ['Привет мир', 'In Progress', 'Feature'],
  ['a+b=c & d', 'Closed', 'Support'],
].each do |subject, status, tracker|
  Issue.create!(project: project, author: admin, subject: subject, tracker: Tracker.find_by_name!(tracker),
                status: IssueStatus.find_by_name!(status), priority: IssuePriority.default,
                description: "Beschreibung: #{subject} ✓")
end
puts "seeded: #{Project.count} project, #{Issue.count} issues"
